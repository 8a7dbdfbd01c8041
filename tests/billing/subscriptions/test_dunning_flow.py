"""Dunning over HTTP on a test clock: a declined renewal makes the subscription past_due, each
retry of the schedule is charged once at its time (RBI's notice keeps it at least 25 hours
after the failure), a retry that succeeds makes it active again; after the last failed retry
the merchant's final action (Stripe's default: cancel) ends it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from beyondpay.db.session import Database
from tests.billing.invoices.support import customer, events_of, ok, run_invoice_jobs
from tests.billing.subscriptions.support import monthly_price, subscribe
from tests.payments.support import get, post
from tests.support import TestMerchant
from tests.test_clocks.support import advance, new_clock, run_advances

DAY_S = 86_400
HOUR_S = 3_600
START = int(datetime(2027, 1, 10, 6, 30, tzinfo=UTC).timestamp())


async def _default_card(
    client: httpx.AsyncClient, merchant: TestMerchant, customer_id: str, card: str
) -> None:
    method = await ok(
        await post(client, merchant, f"/v1/payment_methods/{card}/attach", customer=customer_id)
    )
    await ok(
        await post(
            client,
            merchant,
            f"/v1/customers/{customer_id}",
            **{"invoice_settings[default_payment_method]": method["id"]},
        )
    )


async def _to(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, clock: str, at: int
) -> None:
    await ok(await advance(client, merchant, clock, at))
    await run_advances(database)
    await run_invoice_jobs(database)


async def _active_subscription(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    clock = await new_clock(client, merchant, START)
    buyer = await customer(client, merchant, test_clock=clock["id"])
    price = await monthly_price(client, merchant)
    subscription = await subscribe(client, merchant, buyer["id"], price["id"])
    await run_invoice_jobs(database)
    return clock["id"], buyer, subscription


async def test_a_declined_renewal_is_retried_and_paid_once_the_card_works(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock, buyer, subscription = await _active_subscription(client, merchant, database)
    path = f"/v1/subscriptions/{subscription['id']}"
    period_end = subscription["items"]["data"][0]["current_period_end"]
    await _default_card(client, merchant, buyer["id"], "pm_card_chargeDeclined")
    await _to(client, merchant, database, clock, period_end + 2 * HOUR_S)
    failed = await get(client, merchant, path)
    assert failed["status"] == "past_due"
    renewal = await get(client, merchant, f"/v1/invoices/{failed['latest_invoice']}")
    assert renewal["status"] == "open" and renewal["attempt_count"] == 1
    # Stripe's next_payment_attempt: the first retry, a day on at the earliest.
    assert renewal["next_payment_attempt"] >= period_end + DAY_S
    # Not before a day (the schedule's first offset) and RBI's notice: nothing yet.
    await _to(client, merchant, database, clock, period_end + 20 * HOUR_S)
    assert (await get(client, merchant, f"/v1/invoices/{renewal['id']}"))["attempt_count"] == 1
    await _to(client, merchant, database, clock, period_end + 2 * DAY_S)
    retried = await get(client, merchant, f"/v1/invoices/{renewal['id']}")
    assert retried["attempt_count"] == 2 and retried["status"] == "open"
    assert (await get(client, merchant, path))["status"] == "past_due"
    await _default_card(client, merchant, buyer["id"], "pm_card_visa")
    await _to(client, merchant, database, clock, period_end + 4 * DAY_S)
    paid = await get(client, merchant, f"/v1/invoices/{renewal['id']}")
    assert paid["status"] == "paid" and paid["attempt_count"] == 3
    assert (await get(client, merchant, path))["status"] == "active"
    assert "customer.subscription.deleted" not in await events_of(database, subscription["id"])


async def test_after_the_last_failed_retry_the_subscription_is_canceled(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock, buyer, subscription = await _active_subscription(client, merchant, database)
    path = f"/v1/subscriptions/{subscription['id']}"
    period_end = subscription["items"]["data"][0]["current_period_end"]
    await _default_card(client, merchant, buyer["id"], "pm_card_chargeDeclined")
    await _to(client, merchant, database, clock, period_end + 2 * HOUR_S)
    # Eight retries within about two weeks, each at least 26 hours after the last try (its
    # answer awaited an hour, then RBI's notice): step through them six hours at a time.
    for step in range(1, 4 * 15 + 1):
        await _to(client, merchant, database, clock, period_end + 2 * HOUR_S + step * 6 * HOUR_S)
    ended = await get(client, merchant, path)
    assert ended["status"] == "canceled"
    assert ended["cancellation_details"]["reason"] == "payment_failed"
    renewal = await get(client, merchant, f"/v1/invoices/{ended['latest_invoice']}")
    assert renewal["attempt_count"] == 9  # the renewal's charge and eight retries
    assert renewal["next_payment_attempt"] is None  # no try left


async def test_a_failed_mid_period_invoice_ends_the_subscription_only_when_the_paid_period_ends(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    """An upgrade's invoice (mid-period) fails its last try: the period already paid for is
    never cut short, so the merchant's final action (cancel) takes effect at its end."""
    await ok(
        await post(
            client, merchant, "/v1/billing/dunning_settings", **{"retry_offsets_days[0]": "1"}
        )
    )
    clock, buyer, subscription = await _active_subscription(client, merchant, database)
    path = f"/v1/subscriptions/{subscription['id']}"
    (item,) = subscription["items"]["data"]
    period_end = item["current_period_end"]
    premium = await monthly_price(client, merchant, amount=199_900, name="Premium")
    await _to(client, merchant, database, clock, START + 5 * DAY_S)
    await _default_card(client, merchant, buyer["id"], "pm_card_chargeDeclined")
    body = {"items[0][id]": item["id"], "items[0][price]": premium["id"]}
    updated = await ok(
        await post(client, merchant, path, proration_behavior="always_invoice", **body)
    )
    await run_invoice_jobs(database)
    upgrade = await get(client, merchant, f"/v1/invoices/{updated['latest_invoice']}")
    assert upgrade["billing_reason"] == "subscription_update" and upgrade["status"] == "open"
    # The one retry (a day on, after RBI's notice) fails too: still past_due, not canceled.
    for day in range(6, 10):
        await _to(client, merchant, database, clock, START + day * DAY_S)
    assert (await get(client, merchant, f"/v1/invoices/{upgrade['id']}"))["attempt_count"] == 2
    waiting = await get(client, merchant, path)
    assert waiting["status"] == "past_due" and waiting["ended_at"] is None
    # The paid period ends: the final action, canceled there.
    await _to(client, merchant, database, clock, period_end + 2 * HOUR_S)
    ended = await get(client, merchant, path)
    assert ended["status"] == "canceled" and ended["ended_at"] == period_end
    assert ended["cancellation_details"]["reason"] == "payment_failed"
    assert ended["latest_invoice"] == upgrade["id"]  # no renewal invoiced
