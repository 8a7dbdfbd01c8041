"""Updating a subscription over HTTP on a test clock: a plan change mid-period prorated to the
second (a credit for the unused time, a charge for the remaining time) invoiced at once with
always_invoice or left pending for the renewal; cancel_at_period_end ends it at the period's
end with no renewal."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from beyondpay.billing.subscriptions.domain import Period, prorated_amount
from beyondpay.db.session import Database
from tests.billing.invoices.support import customer, events_of, ok, run_invoice_jobs
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


async def test_an_upgrade_mid_period_is_prorated_and_invoiced_at_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = await new_clock(client, merchant, START)
    buyer = await customer(client, merchant, test_clock=clock["id"])
    pro = await monthly_price(client, merchant)
    premium = await monthly_price(client, merchant, amount=199_900, name="Premium")
    subscription = await subscribe(client, merchant, buyer["id"], pro["id"])
    await run_invoice_jobs(database)
    (item,) = subscription["items"]["data"]
    start, end = item["current_period_start"], item["current_period_end"]
    at = START + 10 * DAY_S
    await _to(client, merchant, database, clock["id"], at)
    updated = await ok(
        await post(
            client,
            merchant,
            f"/v1/subscriptions/{subscription['id']}",
            proration_behavior="always_invoice",
            **{"items[0][id]": item["id"], "items[0][price]": premium["id"]},
        )
    )
    assert updated["items"]["data"][0]["price"]["id"] == premium["id"]
    invoice = await get(client, merchant, f"/v1/invoices/{updated['latest_invoice']}")
    assert invoice["billing_reason"] == "subscription_update"
    credit, charge = (line["amount"] for line in invoice["lines"]["data"])
    assert credit == -_share(99_900, start, end, at)
    assert charge == _share(199_900, start, end, at)
    assert invoice["total"] == credit + charge
    await run_invoice_jobs(database)
    paid = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
    assert paid["status"] == "paid"
    assert (await get(client, merchant, f"/v1/subscriptions/{subscription['id']}"))[
        "status"
    ] == "active"


async def test_prorations_left_pending_go_on_the_renewal(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = await new_clock(client, merchant, START)
    buyer = await customer(client, merchant, test_clock=clock["id"])
    pro = await monthly_price(client, merchant)
    subscription = await subscribe(client, merchant, buyer["id"], pro["id"])
    await run_invoice_jobs(database)
    (item,) = subscription["items"]["data"]
    await _to(client, merchant, database, clock["id"], START + 15 * DAY_S)
    await ok(
        await post(
            client,
            merchant,
            f"/v1/subscriptions/{subscription['id']}",
            **{"items[0][id]": item["id"], "items[0][quantity]": 2},
        )
    )
    await _to(client, merchant, database, clock["id"], item["current_period_end"] + 2 * 3_600)
    renewed = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
    invoice = await get(client, merchant, f"/v1/invoices/{renewed['latest_invoice']}")
    descriptions = [line["description"] for line in invoice["lines"]["data"]]
    assert "2 \N{MULTIPLICATION SIGN} Pro" in descriptions
    assert any(text.startswith("Remaining time on 2") for text in descriptions)
    assert invoice["status"] == "paid"


async def test_cancel_at_period_end_ends_it_at_the_period_end_without_a_renewal(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = await new_clock(client, merchant, START)
    buyer = await customer(client, merchant, test_clock=clock["id"])
    pro = await monthly_price(client, merchant)
    subscription = await subscribe(client, merchant, buyer["id"], pro["id"])
    await run_invoice_jobs(database)
    path = f"/v1/subscriptions/{subscription['id']}"
    scheduled = await ok(await post(client, merchant, path, cancel_at_period_end="true"))
    assert scheduled["cancel_at_period_end"] is True and scheduled["status"] == "active"
    end = subscription["items"]["data"][0]["current_period_end"]
    await _to(client, merchant, database, clock["id"], end + 3_600)
    ended = await get(client, merchant, path)
    assert ended["status"] == "canceled" and ended["ended_at"] == end
    assert ended["latest_invoice"] == subscription["latest_invoice"]  # no renewal
    assert (await events_of(database, subscription["id"]))[-1] == "customer.subscription.deleted"
