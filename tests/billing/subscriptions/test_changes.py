"""Subscriptions' changes over HTTP on test clocks: a change of interval and
billing_cycle_anchor=now restart the cycle (a credit for the unused time and the new period in
full, at once); proration_date; canceling with prorate, invoice_now and cancellation_details;
cancel_at; pause_collection at renewals and its end; a paused subscription resumed; search."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.billing.subscriptions.changes import end_pause_now
from beyondpay.billing.subscriptions.domain import Period, prorated_amount
from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, get_clock, use_clock
from tests.billing.invoices.support import customer, events_of, ok, queued, run_invoice_jobs
from tests.billing.subscriptions.support import monthly_price, subscribe
from tests.payments.support import get, post
from tests.support import TestMerchant
from tests.test_clocks.support import advance, new_clock, run_advances

DAY_S = 86_400
START = int(datetime(2027, 1, 10, 6, 30, tzinfo=UTC).timestamp())


async def _to(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, clock: str, at: int
) -> None:
    await ok(await advance(client, merchant, clock, at))
    await run_advances(database)
    await run_invoice_jobs(database)


def _share(amount: int, start: int, end: int, at: int) -> int:
    period = Period(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
    return prorated_amount(amount, period, datetime.fromtimestamp(at, UTC))


async def _yearly_price(
    client: httpx.AsyncClient, merchant: TestMerchant, amount: int = 999_000
) -> dict[str, Any]:
    return await ok(
        await post(
            client,
            merchant,
            "/v1/prices",
            currency="inr",
            unit_amount=amount,
            **{"product_data[name]": "Pro yearly", "recurring[interval]": "year"},
        )
    )


async def _started(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, **params: Any
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A clock at START, a customer with a card on it, and a paid monthly subscription."""
    clock = await new_clock(client, merchant, START)
    buyer = await customer(client, merchant, test_clock=clock["id"])
    pro = await monthly_price(client, merchant)
    subscription = await subscribe(client, merchant, buyer["id"], pro["id"], **params)
    await run_invoice_jobs(database)
    return clock, pro, subscription


async def _invoice(client: httpx.AsyncClient, merchant: TestMerchant, id: str) -> Any:
    return await get(client, merchant, f"/v1/invoices/{id}")


async def test_a_change_to_a_yearly_price_restarts_the_cycle_and_bills_at_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock, _pro, subscription = await _started(client, merchant, database)
    (item,) = subscription["items"]["data"]
    start, end = item["current_period_start"], item["current_period_end"]
    yearly = await _yearly_price(client, merchant)
    at = START + 10 * DAY_S
    await _to(client, merchant, database, clock["id"], at)
    path = f"/v1/subscriptions/{subscription['id']}"
    body = {"items[0][id]": item["id"], "items[0][price]": yearly["id"]}
    updated = await ok(await post(client, merchant, path, **body))
    assert updated["billing_cycle_anchor"] == at
    async with database.unit_of_work() as session:
        previous = await session.scalar(
            text(
                "SELECT data->'previous_attributes' FROM events WHERE object_id = :id"
                " AND type = 'customer.subscription.updated' ORDER BY inserted DESC LIMIT 1"
            ),
            {"id": subscription["id"]},
        )
    assert previous["billing_cycle_anchor"] == subscription["billing_cycle_anchor"]
    (new_item,) = updated["items"]["data"]
    assert new_item["current_period_start"] == at
    assert new_item["current_period_end"] == int(
        datetime(2028, 1, 20, 6, 30, tzinfo=UTC).timestamp()
    )
    invoice = await _invoice(client, merchant, updated["latest_invoice"])
    assert invoice["billing_reason"] == "subscription_update"
    amounts = sorted(line["amount"] for line in invoice["lines"]["data"])
    assert amounts == [-_share(99_900, start, end, at), 999_000]
    assert invoice["status"] == "open"
    await run_invoice_jobs(database)
    assert (await _invoice(client, merchant, invoice["id"]))["status"] == "paid"
    # The next renewal is a year on, invoiced once under the new cycle.
    await _to(client, merchant, database, clock["id"], new_item["current_period_end"] + 7_200)
    renewed = await get(client, merchant, path)
    assert renewed["latest_invoice"] != invoice["id"]
    cycle = await _invoice(client, merchant, renewed["latest_invoice"])
    assert cycle["billing_reason"] == "subscription_cycle" and cycle["total"] == 999_000


async def test_items_of_two_intervals_are_refused_naming_items(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    _clock, _pro, subscription = await _started(client, merchant, database)
    yearly = await _yearly_price(client, merchant)
    response = await post(
        client,
        merchant,
        f"/v1/subscriptions/{subscription['id']}",
        **{"items[0][price]": yearly["id"]},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "items"


async def test_billing_cycle_anchor_now_and_proration_date(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock, pro, subscription = await _started(client, merchant, database)
    (item,) = subscription["items"]["data"]
    start, end = item["current_period_start"], item["current_period_end"]
    await _to(client, merchant, database, clock["id"], START + 12 * DAY_S)
    path = f"/v1/subscriptions/{subscription['id']}"
    proration_at = START + 5 * DAY_S
    updated = await ok(
        await post(client, merchant, path, billing_cycle_anchor="now", proration_date=proration_at)
    )
    assert updated["billing_cycle_anchor"] == proration_at
    invoice = await _invoice(client, merchant, updated["latest_invoice"])
    amounts = sorted(line["amount"] for line in invoice["lines"]["data"])
    assert amounts == [-_share(99_900, start, end, proration_at), 99_900]
    outside = await post(
        client,
        merchant,
        path,
        proration_date=START - DAY_S,
        **{"items[0][id]": item["id"], "items[0][quantity]": 2},
    )
    assert outside.status_code == 400 and outside.json()["error"]["param"] == "proration_date"
    assert pro["id"] == updated["items"]["data"][0]["price"]["id"]


async def test_cancel_with_prorate_and_invoice_now_credits_the_unused_time(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock, _pro, subscription = await _started(client, merchant, database)
    (item,) = subscription["items"]["data"]
    start, end = item["current_period_start"], item["current_period_end"]
    at = START + 20 * DAY_S
    await _to(client, merchant, database, clock["id"], at)
    response = await client.delete(
        f"/v1/subscriptions/{subscription['id']}",
        params={
            "prorate": "true",
            "invoice_now": "true",
            "cancellation_details[comment]": "Too pricey for us",
            "cancellation_details[feedback]": "too_expensive",
        },
        headers=merchant.auth(),
    )
    canceled = await ok(response)
    assert canceled["status"] == "canceled" and canceled["ended_at"] == at
    assert canceled["cancellation_details"] == {
        "comment": "Too pricey for us",
        "feedback": "too_expensive",
        "reason": "cancellation_requested",
    }
    final = await _invoice(client, merchant, canceled["latest_invoice"])
    (line,) = final["lines"]["data"]
    assert line["amount"] == -_share(99_900, start, end, at)
    assert line["description"].startswith("Unused time on Pro after")
    # A credit only: the negative invoice is paid with nothing due, its total the customer's
    # credit (Stripe's way).
    assert final["status"] == "paid" and final["amount_due"] == 0
    assert final["starting_balance"] == 0 and final["ending_balance"] == line["amount"]
    buyer = await get(client, merchant, f"/v1/customers/{canceled['customer']}")
    assert buyer["balance"] == line["amount"]
    bad = await client.delete(
        f"/v1/subscriptions/{subscription['id']}",
        params={"cancellation_details[feedback]": "meh"},
        headers=merchant.auth(),
    )
    assert bad.status_code == 400


async def test_cancel_at_cuts_the_period_short_and_ends_it_there(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock, _pro, subscription = await _started(client, merchant, database)
    path = f"/v1/subscriptions/{subscription['id']}"
    cancel_at = START + 15 * DAY_S
    past = await post(client, merchant, path, cancel_at=START - 60)
    assert past.status_code == 400 and past.json()["error"]["param"] == "cancel_at"
    updated = await ok(await post(client, merchant, path, cancel_at=cancel_at))
    assert updated["cancel_at"] == cancel_at
    assert updated["items"]["data"][0]["current_period_end"] == cancel_at
    pending = await get(
        client, merchant, "/v1/invoiceitems", customer=subscription["customer"], pending="true"
    )
    (credit,) = pending["data"]
    assert credit["amount"] < 0
    await _to(client, merchant, database, clock["id"], cancel_at + 60)
    ended = await get(client, merchant, path)
    assert ended["status"] == "canceled" and ended["ended_at"] == cancel_at


async def test_pause_collection_voids_renewals_until_it_resumes(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock, _pro, subscription = await _started(client, merchant, database)
    path = f"/v1/subscriptions/{subscription['id']}"
    first_end = subscription["items"]["data"][0]["current_period_end"]
    resumes_at = first_end + 10 * DAY_S
    refused = await post(
        client,
        merchant,
        path,
        **{"pause_collection[behavior]": "void", "pause_collection[resumes_at]": START - 1},
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "pause_collection[resumes_at]"
    paused = await ok(
        await post(
            client,
            merchant,
            path,
            **{"pause_collection[behavior]": "void", "pause_collection[resumes_at]": resumes_at},
        )
    )
    assert paused["pause_collection"] == {"behavior": "void", "resumes_at": resumes_at}
    assert paused["status"] == "active"
    await _to(client, merchant, database, clock["id"], first_end + 7_200)
    during = await get(client, merchant, path)
    voided = await _invoice(client, merchant, during["latest_invoice"])
    assert voided["billing_reason"] == "subscription_cycle" and voided["status"] == "void"
    assert during["pause_collection"] is not None
    await _to(client, merchant, database, clock["id"], resumes_at + 60)
    resumed = await get(client, merchant, path)
    assert resumed["pause_collection"] is None
    second_end = resumed["items"]["data"][0]["current_period_end"]
    await _to(client, merchant, database, clock["id"], second_end + 7_200)
    after = await get(client, merchant, path)
    assert (await _invoice(client, merchant, after["latest_invoice"]))["status"] == "paid"


async def test_pause_collection_keep_as_draft_and_clearing_it(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock, _pro, subscription = await _started(client, merchant, database)
    path = f"/v1/subscriptions/{subscription['id']}"
    await ok(await post(client, merchant, path, **{"pause_collection[behavior]": "keep_as_draft"}))
    first_end = subscription["items"]["data"][0]["current_period_end"]
    await _to(client, merchant, database, clock["id"], first_end + 3 * 3_600)
    during = await get(client, merchant, path)
    draft = await _invoice(client, merchant, during["latest_invoice"])
    assert draft["status"] == "draft" and draft["auto_advance"] is False
    cleared = await ok(await post(client, merchant, path, pause_collection=""))
    assert cleared["pause_collection"] is None
    assert "customer.subscription.updated" in await events_of(database, subscription["id"])


async def test_a_trial_ending_without_a_card_pauses_and_resume_restarts_it(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = await new_clock(client, merchant, START)
    buyer = await customer(client, merchant, card=None, test_clock=clock["id"])
    pro = await monthly_price(client, merchant)
    subscription = await subscribe(
        client,
        merchant,
        buyer["id"],
        pro["id"],
        trial_period_days=7,
        **{"trial_settings[end_behavior][missing_payment_method]": "pause"},
    )
    assert subscription["trial_settings"]["end_behavior"]["missing_payment_method"] == "pause"
    path = f"/v1/subscriptions/{subscription['id']}"
    early = await post(client, merchant, f"{path}/resume")
    assert early.status_code == 400
    assert early.json()["error"]["code"] == "subscription_unexpected_state"
    trial_end = subscription["trial_end"]
    await _to(client, merchant, database, clock["id"], trial_end + 3_600)
    paused = await get(client, merchant, path)
    assert paused["status"] == "paused"
    assert paused["latest_invoice"] == subscription["latest_invoice"]  # nothing billed
    # Stays paused through what would have been renewals.
    await _to(client, merchant, database, clock["id"], trial_end + 40 * DAY_S)
    assert (await get(client, merchant, path))["status"] == "paused"
    now = trial_end + 40 * DAY_S
    resumed = await ok(await post(client, merchant, f"{path}/resume"))
    assert resumed["status"] == "active" and resumed["billing_cycle_anchor"] == now
    invoice = await _invoice(client, merchant, resumed["latest_invoice"])
    assert invoice["total"] == 99_900 and invoice["status"] == "open"
    types = await events_of(database, subscription["id"])
    assert "customer.subscription.paused" in types
    assert types[-1] == "customer.subscription.resumed"


async def test_search_by_status_and_metadata(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant)
    pro = await monthly_price(client, merchant)
    gold = await subscribe(client, merchant, buyer["id"], pro["id"], **{"metadata[plan]": "gold"})
    await subscribe(client, merchant, buyer["id"], pro["id"], trial_period_days=7)
    await run_invoice_jobs(database)
    found = await get(client, merchant, "/v1/subscriptions/search", query="metadata['plan']:'gold'")
    assert found["object"] == "search_result"
    assert [row["id"] for row in found["data"]] == [gold["id"]]
    trialing = await get(client, merchant, "/v1/subscriptions/search", query="status:'trialing'")
    assert len(trialing["data"]) == 1 and trialing["data"][0]["status"] == "trialing"
    bad = await client.get(
        "/v1/subscriptions/search", params={"query": "customer:'x'"}, headers=merchant.auth()
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "query"


async def test_cancel_at_on_create_bills_the_share_up_to_it(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    cancel_at = START + 10 * DAY_S
    clock, _pro, subscription = await _started(client, merchant, database, cancel_at=cancel_at)
    (item,) = subscription["items"]["data"]
    assert subscription["cancel_at"] == cancel_at and item["current_period_end"] == cancel_at
    natural_end = int(datetime(2027, 2, 10, 6, 30, tzinfo=UTC).timestamp())
    first = await _invoice(client, merchant, subscription["latest_invoice"])
    assert first["total"] == 99_900 - _share(99_900, START, natural_end, cancel_at)
    assert first["status"] == "paid"
    await _to(client, merchant, database, clock["id"], cancel_at + 60)
    ended = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
    assert ended["status"] == "canceled" and ended["ended_at"] == cancel_at


async def test_cancel_at_in_a_later_period_bills_its_share_and_clearing_it_restores_a_period(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock, _pro, subscription = await _started(client, merchant, database)
    path = f"/v1/subscriptions/{subscription['id']}"
    end = subscription["items"]["data"][0]["current_period_end"]
    natural_next = int(datetime(2027, 3, 10, 6, 30, tzinfo=UTC).timestamp())
    cancel_at = end + 7 * DAY_S
    await ok(await post(client, merchant, path, cancel_at=cancel_at))
    await _to(client, merchant, database, clock["id"], end + 7_200)
    last = await get(client, merchant, path)
    assert last["items"]["data"][0]["current_period_end"] == cancel_at
    final = await _invoice(client, merchant, last["latest_invoice"])
    assert final["total"] == 99_900 - _share(99_900, end, natural_next, cancel_at)
    # Cleared: the cut period runs to its natural end again, the rest charged.
    cleared = await ok(await post(client, merchant, path, cancel_at=""))
    assert cleared["cancel_at"] is None
    assert cleared["items"]["data"][0]["current_period_end"] == natural_next
    pending = await get(
        client, merchant, "/v1/invoiceitems", customer=subscription["customer"], pending="true"
    )
    (charge,) = pending["data"]
    assert charge["amount"] == _share(99_900, end, natural_next, cancel_at)
    assert charge["amount"] + final["total"] == 99_900
    await _to(client, merchant, database, clock["id"], natural_next + 7_200)
    assert (await get(client, merchant, path))["status"] == "active"


async def test_pause_collection_mark_uncollectible_and_its_real_time_end(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock, _pro, subscription = await _started(client, merchant, database)
    path = f"/v1/subscriptions/{subscription['id']}"
    await ok(
        await post(client, merchant, path, **{"pause_collection[behavior]": "mark_uncollectible"})
    )
    end = subscription["items"]["data"][0]["current_period_end"]
    await _to(client, merchant, database, clock["id"], end + 7_200)
    during = await get(client, merchant, path)
    invoice = await _invoice(client, merchant, during["latest_invoice"])
    assert invoice["status"] == "uncollectible" and invoice["attempt_count"] == 0
    assert during["status"] == "active"


async def test_resume_collection_job_runs_once_at_resumes_at(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant)
    pro = await monthly_price(client, merchant)
    subscription = await subscribe(client, merchant, buyer["id"], pro["id"])
    await run_invoice_jobs(database)
    path = f"/v1/subscriptions/{subscription['id']}"
    resumes_at = int(get_clock().now().timestamp()) + 3 * DAY_S
    await ok(
        await post(
            client,
            merchant,
            path,
            **{"pause_collection[behavior]": "void", "pause_collection[resumes_at]": resumes_at},
        )
    )
    (job,) = await queued(database, "subscriptions:resume_collection")
    assert job == {"subscription": subscription["id"]}
    async with database.unit_of_work() as session:
        assert not await end_pause_now(session, subscription["id"])  # not yet
    later = datetime.fromtimestamp(resumes_at + 1, UTC)
    with use_clock(FrozenClock(later)):
        async with database.unit_of_work() as session:
            assert await end_pause_now(session, subscription["id"])
        async with database.unit_of_work() as session:
            assert not await end_pause_now(session, subscription["id"])  # run twice: once
    assert (await get(client, merchant, path))["pause_collection"] is None


async def test_resume_with_the_anchor_unchanged_bills_the_rest_of_the_period(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = await new_clock(client, merchant, START)
    buyer = await customer(client, merchant, card=None, test_clock=clock["id"])
    pro = await monthly_price(client, merchant)
    subscription = await subscribe(
        client,
        merchant,
        buyer["id"],
        pro["id"],
        trial_period_days=7,
        **{"trial_settings[end_behavior][missing_payment_method]": "pause"},
    )
    anchor = subscription["trial_end"]
    await _to(client, merchant, database, clock["id"], anchor + 10 * DAY_S)
    path = f"/v1/subscriptions/{subscription['id']}"
    resumed = await ok(
        await post(client, merchant, f"{path}/resume", billing_cycle_anchor="unchanged")
    )
    (item,) = resumed["items"]["data"]
    assert resumed["billing_cycle_anchor"] == anchor
    assert item["current_period_start"] == anchor
    invoice = await _invoice(client, merchant, resumed["latest_invoice"])
    start, end = item["current_period_start"], item["current_period_end"]
    assert invoice["total"] == _share(99_900, start, end, anchor + 10 * DAY_S)


async def test_an_interval_change_in_a_trial_waits_for_its_end(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock, _pro, subscription = await _started(client, merchant, database, trial_period_days=7)
    (item,) = subscription["items"]["data"]
    yearly = await _yearly_price(client, merchant)
    path = f"/v1/subscriptions/{subscription['id']}"
    body = {"items[0][id]": item["id"], "items[0][price]": yearly["id"]}
    updated = await ok(await post(client, merchant, path, **body))
    assert updated["latest_invoice"] == subscription["latest_invoice"]  # nothing billed
    refused = await post(client, merchant, path, billing_cycle_anchor="now")
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "billing_cycle_anchor"
    await _to(client, merchant, database, clock["id"], subscription["trial_end"] + 7_200)
    after = await get(client, merchant, path)
    first = await _invoice(client, merchant, after["latest_invoice"])
    assert first["total"] == 999_000 and first["status"] == "paid"
    period = after["items"]["data"][0]
    assert period["current_period_end"] - period["current_period_start"] == 365 * DAY_S


async def test_a_credit_larger_than_the_new_period_is_the_customers_credit(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = await new_clock(client, merchant, START)
    buyer = await customer(client, merchant, test_clock=clock["id"])
    yearly = await _yearly_price(client, merchant)
    subscription = await subscribe(client, merchant, buyer["id"], yearly["id"])
    await run_invoice_jobs(database)
    monthly = await monthly_price(client, merchant)
    await _to(client, merchant, database, clock["id"], START + 30 * DAY_S)
    (item,) = subscription["items"]["data"]
    body = {"items[0][id]": item["id"], "items[0][price]": monthly["id"]}
    path = f"/v1/subscriptions/{subscription['id']}"
    updated = await ok(await post(client, merchant, path, **body))
    invoice = await _invoice(client, merchant, updated["latest_invoice"])
    assert invoice["total"] < 0
    assert invoice["status"] == "paid" and invoice["amount_due"] == 0
    assert invoice["ending_balance"] == invoice["total"]
    assert (await get(client, merchant, f"/v1/customers/{buyer['id']}"))["balance"] == invoice[
        "total"
    ]
    assert updated["status"] == "active"
