"""Subscriptions over HTTP: a start charged through its first invoice (incomplete, then active
once paid), a trial (its zero invoice paid at once), cancellation, lists and items, the
refusals; and renewals driven by a test clock, each period invoiced once."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from beyondpay.db.session import Database
from tests.billing.invoices.support import customer, events_of, ok, run_invoice_jobs
from tests.billing.subscriptions.support import monthly_price, subscribe
from tests.payments.support import get
from tests.support import TestMerchant
from tests.test_clocks.support import advance, new_clock, run_advances

DAY_S = 86_400


async def test_a_subscription_starts_incomplete_and_is_active_once_its_invoice_is_paid(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    price = await monthly_price(client, merchant)
    buyer = await customer(client, merchant)
    subscription = await subscribe(client, merchant, buyer["id"], price["id"])
    assert subscription["object"] == "subscription"
    assert subscription["status"] == "incomplete"
    (item,) = subscription["items"]["data"]
    assert item["price"]["id"] == price["id"] and item["quantity"] == 1
    assert item["current_period_end"] > item["current_period_start"]
    invoice = await get(client, merchant, f"/v1/invoices/{subscription['latest_invoice']}")
    assert invoice["status"] == "open" and invoice["billing_reason"] == "subscription_create"
    assert invoice["total"] == 99_900
    assert invoice["parent"]["subscription_details"]["subscription"] == subscription["id"]
    (line,) = invoice["lines"]["data"]
    assert line["description"] == "1 \N{MULTIPLICATION SIGN} Pro"
    assert line["period"] == {
        "start": item["current_period_start"],
        "end": item["current_period_end"],
    }
    await run_invoice_jobs(database)
    active = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
    assert active["status"] == "active"
    assert await events_of(database, subscription["id"]) == [
        "customer.subscription.created",
        "customer.subscription.updated",
    ]


async def test_a_trial_starts_trialing_with_a_paid_zero_invoice(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    price = await monthly_price(client, merchant)
    buyer = await customer(client, merchant)
    subscription = await subscribe(client, merchant, buyer["id"], price["id"], trial_period_days=7)
    assert subscription["status"] == "trialing"
    assert subscription["trial_end"] - subscription["trial_start"] == 7 * DAY_S
    invoice = await get(client, merchant, f"/v1/invoices/{subscription['latest_invoice']}")
    assert invoice["status"] == "paid" and invoice["total"] == 0
    assert invoice["lines"]["data"][0]["description"] == "Trial period for Pro"


async def test_canceling_ends_it_and_lists_leave_it_out(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    price = await monthly_price(client, merchant)
    buyer = await customer(client, merchant)
    subscription = await subscribe(client, merchant, buyer["id"], price["id"])
    await run_invoice_jobs(database)
    response = await client.delete(
        f"/v1/subscriptions/{subscription['id']}", headers=merchant.auth()
    )
    canceled = await ok(response)
    assert canceled["status"] == "canceled" and canceled["ended_at"] is not None
    assert canceled["cancellation_details"]["reason"] == "cancellation_requested"
    again = await client.delete(f"/v1/subscriptions/{subscription['id']}", headers=merchant.auth())
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "subscription_unexpected_state"
    listed = await get(client, merchant, "/v1/subscriptions", customer=buyer["id"])
    assert listed["data"] == []
    every = await get(client, merchant, "/v1/subscriptions", customer=buyer["id"], status="all")
    assert [row["id"] for row in every["data"]] == [subscription["id"]]
    items = await get(client, merchant, "/v1/subscription_items", subscription=subscription["id"])
    (item,) = items["data"]
    assert (await get(client, merchant, f"/v1/subscription_items/{item['id']}")) == item
    assert (await events_of(database, subscription["id"]))[-1] == "customer.subscription.deleted"


async def test_canceling_an_incomplete_subscription_voids_its_first_invoice(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    price = await monthly_price(client, merchant)
    buyer = await customer(client, merchant)
    subscription = await subscribe(client, merchant, buyer["id"], price["id"])
    response = await client.delete(
        f"/v1/subscriptions/{subscription['id']}", headers=merchant.auth()
    )
    assert (await ok(response))["status"] == "incomplete_expired"
    invoice = await get(client, merchant, f"/v1/invoices/{subscription['latest_invoice']}")
    assert invoice["status"] == "void"


async def test_refusals_name_the_parameter(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    buyer = await customer(client, merchant)
    one_time = await ok(
        await client.post(
            "/v1/prices",
            data={"currency": "inr", "unit_amount": 500, "product_data[name]": "Setup"},
            headers=merchant.auth(),
        )
    )
    refused = await subscribe(client, merchant, buyer["id"], one_time["id"], status=400)
    assert refused["error"]["param"] == "items[0][price]"
    missing = await subscribe(client, merchant, buyer["id"], "price_nope", status=404)
    assert missing["error"]["param"] == "items[0][price]"


async def test_a_test_clock_ends_the_trial_and_renews_each_period_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    start = int(datetime(2027, 1, 10, 6, 30, tzinfo=UTC).timestamp())
    clock = await new_clock(client, merchant, start)
    buyer = await customer(client, merchant, test_clock=clock["id"])
    price = await monthly_price(client, merchant)
    subscription = await subscribe(client, merchant, buyer["id"], price["id"], trial_period_days=7)
    assert subscription["test_clock"] == clock["id"]
    # Past the trial's end and the renewal draft's hour: the first paid period is invoiced.
    await ok(await advance(client, merchant, clock["id"], start + 7 * DAY_S + 2 * 3_600))
    await run_advances(database)
    await run_invoice_jobs(database)
    renewed = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
    assert renewed["status"] == "active"
    (item,) = renewed["items"]["data"]
    assert item["current_period_start"] == start + 7 * DAY_S
    invoice = await get(client, merchant, f"/v1/invoices/{renewed['latest_invoice']}")
    assert invoice["billing_reason"] == "subscription_cycle"
    assert invoice["status"] == "paid" and invoice["amount_paid"] == 99_900
    # Two more months in one advance: two renewals, each invoiced once.
    await ok(await advance(client, merchant, clock["id"], start + 7 * DAY_S + 62 * DAY_S))
    await run_advances(database)
    await run_advances(database)  # nothing left: run twice, renewed once
    await run_invoice_jobs(database)
    invoices = await get(client, merchant, "/v1/invoices", customer=buyer["id"], limit=10)
    reasons = [row["billing_reason"] for row in invoices["data"]]
    assert reasons == [
        "subscription_cycle",
        "subscription_cycle",
        "subscription_cycle",
        "subscription_create",
    ]
    assert all(row["status"] == "paid" for row in invoices["data"])
