"""Dunning wired, over HTTP on test clocks: RBI's pre-debit notice before every try of a
subscription's card charge (``invoice.upcoming`` and an email, 25 hours ahead), each charge held
until 25 hours after its notice really went, the additional-authentication path above ₹15,000
(the invoice waits for its customer on the hosted page, never charged off-session), the
merchant's own schedule and final action, ``trial_will_end`` once, and every job run twice
changing nothing. Each test's ledger is verified by the ``database_url`` fixture."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.billing.invoices.timers import advance_draft
from beyondpay.billing.subscriptions.notices import charge_now, notify_now
from beyondpay.billing.subscriptions.service import renew_now
from beyondpay.db.session import Database
from beyondpay.test_clocks.tasks import advance_on
from tests.billing.invoices.support import customer, ok, run_invoice_jobs
from tests.billing.subscriptions.support import monthly_price, subscribe
from tests.notifications.support import sandbox_emails, send_queued
from tests.payments.support import get, post
from tests.support import TestMerchant
from tests.test_clocks.support import advance, new_clock, run_advances

DAY_S = 86_400
HOUR_S = 3_600
NOTICE_S = 25 * HOUR_S  # RBI's 24 hours and an hour for delivery
START = int(datetime(2027, 1, 10, 6, 30, tzinfo=UTC).timestamp())
ABOVE_LIMIT = 20_000_00  # ₹20,000: above RBI's ₹15,000 for charges without the customer


async def _events(database: Database, type: str) -> list[dict[str, Any]]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text("SELECT data FROM events WHERE type = :type ORDER BY inserted"), {"type": type}
        )
        return [dict(row["object"]) for row in rows.scalars()]


async def _notices(database: Database, subscription_id: str) -> dict[str, dict[str, Any]]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text(
                "SELECT key, status, extract(epoch FROM notified_at)::bigint AS notified,"
                " extract(epoch FROM charge_at)::bigint AS charge,"
                " charged_at IS NOT NULL AS charged, needs_authentication"
                " FROM subscription_notices WHERE subscription_id = :id"
            ),
            {"id": subscription_id},
        )
        return {row.key: dict(row._mapping) for row in rows.all()}


async def _to(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, clock: str, at: int
) -> None:
    await ok(await advance(client, merchant, clock, at))
    await run_advances(database)
    await run_invoice_jobs(database)


async def _declining(client: httpx.AsyncClient, merchant: TestMerchant, customer_id: str) -> None:
    method = await ok(
        await post(
            client,
            merchant,
            "/v1/payment_methods/pm_card_chargeDeclined/attach",
            customer=customer_id,
        )
    )
    await ok(
        await post(
            client,
            merchant,
            f"/v1/customers/{customer_id}",
            **{"invoice_settings[default_payment_method]": method["id"]},
        )
    )


async def _active(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, amount: int = 99_900
) -> tuple[str, dict[str, Any], dict[str, Any], int]:
    clock = await new_clock(client, merchant, START)
    buyer = await customer(client, merchant, test_clock=clock["id"])
    price = await monthly_price(client, merchant, amount=amount)
    subscription = await subscribe(client, merchant, buyer["id"], price["id"])
    await run_invoice_jobs(database)
    period_end = subscription["items"]["data"][0]["current_period_end"]
    return clock["id"], buyer, subscription, period_end


def _of(objects: list[dict[str, Any]], subscription_id: str) -> list[dict[str, Any]]:
    return [
        found
        for found in objects
        if (found.get("parent") or {}).get("subscription_details", {}).get("subscription")
        == subscription_id
    ]


async def test_the_renewal_is_announced_25_hours_ahead_then_charged_at_the_period_end(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock, buyer, subscription, period_end = await _active(client, merchant, database)
    await _to(client, merchant, database, clock, period_end - NOTICE_S - HOUR_S)
    assert _of(await _events(database, "invoice.upcoming"), subscription["id"]) == []
    await _to(client, merchant, database, clock, period_end - NOTICE_S + HOUR_S)
    (upcoming,) = _of(await _events(database, "invoice.upcoming"), subscription["id"])
    # Stripe's upcoming invoice: no id yet, what the renewal will bill, when it is charged.
    assert upcoming["id"] is None and upcoming["object"] == "invoice"
    assert upcoming["amount_due"] == 99_900 and upcoming["currency"] == "inr"
    assert upcoming["period_start"] == period_end
    assert upcoming["next_payment_attempt"] == period_end
    assert upcoming["lines"]["data"][0]["description"] == "1 \N{MULTIPLICATION SIGN} Pro"
    notice = (await _notices(database, subscription["id"]))[f"renewal:{subscription['id']}:1"]
    assert notice["notified"] == period_end - NOTICE_S and notice["charge"] == period_end
    await send_queued(database)
    (email,) = [
        found
        for found in await sandbox_emails(client, merchant, to=buyer["email"])
        if found["kind"] == "pre_debit_notice"
    ]
    assert email["subject"] == "Upcoming payment of ₹999.00 to Acme"
    assert "₹999.00" in email["text"]
    # The period ends: the renewal is invoiced and charged (after the draft's hour), once.
    await _to(client, merchant, database, clock, period_end + 2 * HOUR_S)
    renewed = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
    invoice = await get(client, merchant, f"/v1/invoices/{renewed['latest_invoice']}")
    assert invoice["billing_reason"] == "subscription_cycle"
    assert invoice["status"] == "paid" and invoice["attempt_count"] == 1
    assert len(_of(await _events(database, "invoice.upcoming"), subscription["id"])) == 1


async def test_each_retry_is_announced_and_charged_no_sooner_than_25_hours_after(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock, buyer, subscription, period_end = await _active(client, merchant, database)
    await _declining(client, merchant, buyer["id"])
    await _to(client, merchant, database, clock, period_end + 2 * HOUR_S)
    failed = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
    assert failed["status"] == "past_due"
    invoice_id = failed["latest_invoice"]
    notices = await _notices(database, subscription["id"])
    retry = notices[f"retry:{invoice_id}:1"]
    assert retry["status"] == "scheduled"
    # The notice goes at its time; the retry waits 25 hours after it.
    for step in range(1, 13):
        await _to(client, merchant, database, clock, period_end + 2 * HOUR_S + step * 4 * HOUR_S)
        retry = (await _notices(database, subscription["id"]))[f"retry:{invoice_id}:1"]
        attempts = (await get(client, merchant, f"/v1/invoices/{invoice_id}"))["attempt_count"]
        now = period_end + 2 * HOUR_S + step * 4 * HOUR_S
        if retry["notified"] is None or now < retry["notified"] + NOTICE_S:
            assert attempts == 1, "charged before its notice was 25 hours old"
    assert retry["notified"] is not None and retry["charge"] >= retry["notified"] + NOTICE_S
    assert (await get(client, merchant, f"/v1/invoices/{invoice_id}"))["attempt_count"] == 2
    upcoming = [
        found for found in await _events(database, "invoice.upcoming") if found["id"] == invoice_id
    ]
    sent = [
        key
        for key, notice in (await _notices(database, subscription["id"])).items()
        if key.startswith(f"retry:{invoice_id}:") and notice["status"] == "sent"
    ]
    # One event a notice: the open invoice, each retry's once.
    assert len(upcoming) == len(sent) >= 1
    assert all(found["status"] == "open" for found in upcoming)
    first = (await _notices(database, subscription["id"]))[f"retry:{invoice_id}:1"]
    assert upcoming[0]["next_payment_attempt"] == first["charge"]


async def test_a_notice_sent_late_moves_the_charge_later(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = (await new_clock(client, merchant, START))["id"]
    buyer = await customer(client, merchant, test_clock=clock)
    price = await monthly_price(client, merchant)
    # A trial of two hours: its renewal's notice is due 23 hours before the subscription exists.
    trial_end = START + 2 * HOUR_S
    subscription = await subscribe(client, merchant, buyer["id"], price["id"], trial_end=trial_end)
    assert subscription["status"] == "trialing"
    await _to(client, merchant, database, clock, trial_end + 2 * HOUR_S)
    notice = (await _notices(database, subscription["id"]))[f"renewal:{subscription['id']}:0"]
    assert notice["notified"] == START and notice["charge"] == START + NOTICE_S
    renewed = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
    invoice = await get(client, merchant, f"/v1/invoices/{renewed['latest_invoice']}")
    assert invoice["status"] == "open" and invoice["attempt_count"] == 0  # held
    await _to(client, merchant, database, clock, START + NOTICE_S - HOUR_S)
    assert (await get(client, merchant, f"/v1/invoices/{invoice['id']}"))["attempt_count"] == 0
    await _to(client, merchant, database, clock, START + NOTICE_S + HOUR_S)
    await run_advances(database)
    await run_invoice_jobs(database)
    paid = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
    assert paid["status"] == "paid" and paid["attempt_count"] == 1
    assert (await get(client, merchant, f"/v1/subscriptions/{subscription['id']}"))[
        "status"
    ] == "active"


async def test_above_the_limit_the_renewal_waits_for_the_customer_on_the_hosted_page(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = (await new_clock(client, merchant, START))["id"]
    buyer = await customer(client, merchant, test_clock=clock)
    price = await monthly_price(client, merchant, amount=ABOVE_LIMIT)
    subscription = await subscribe(client, merchant, buyer["id"], price["id"], trial_period_days=7)
    trial_end = subscription["trial_end"]
    await _to(client, merchant, database, clock, trial_end - NOTICE_S + HOUR_S)
    notice = (await _notices(database, subscription["id"]))[f"renewal:{subscription['id']}:0"]
    assert notice["needs_authentication"]
    await _to(client, merchant, database, clock, trial_end + 2 * HOUR_S)
    waiting = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
    assert waiting["status"] == "past_due"
    invoice = await get(client, merchant, f"/v1/invoices/{waiting['latest_invoice']}")
    assert invoice["status"] == "open" and invoice["total"] == ABOVE_LIMIT
    assert invoice["attempt_count"] == 0, "never charged off-session"
    action = [
        found
        for found in await _events(database, "invoice.payment_action_required")
        if found["id"] == invoice["id"]
    ]
    assert len(action) == 1
    await send_queued(database)
    emails = [
        found
        for found in await sandbox_emails(client, merchant, to=buyer["email"])
        if found["kind"] == "pre_debit_notice"
    ]
    assert all(found["subject"].startswith("Action needed") for found in emails)
    assert any(invoice["hosted_invoice_url"] in found["text"] for found in emails)
    # The customer pays it themselves (on-session, as the hosted page does): active again.
    paid = await ok(
        await post(
            client,
            merchant,
            f"/v1/invoices/{invoice['id']}/pay",
            payment_method=buyer["invoice_settings"]["default_payment_method"],
            off_session="false",
        )
    )
    assert paid["status"] == "paid"
    assert (await get(client, merchant, f"/v1/subscriptions/{subscription['id']}"))[
        "status"
    ] == "active"
    # Its try's time passes: nothing more happens to a paid invoice.
    await _to(client, merchant, database, clock, trial_end + 2 * DAY_S)
    assert (await get(client, merchant, f"/v1/invoices/{invoice['id']}"))["attempt_count"] == 1


async def test_above_the_limit_an_unpaid_try_fails_at_its_time_and_retries_wait_too(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = (await new_clock(client, merchant, START))["id"]
    buyer = await customer(client, merchant, test_clock=clock)
    price = await monthly_price(client, merchant, amount=ABOVE_LIMIT)
    subscription = await subscribe(client, merchant, buyer["id"], price["id"], trial_period_days=7)
    trial_end = subscription["trial_end"]
    for step in range(1, 4 * 6):  # six days, six hours at a time
        await _to(client, merchant, database, clock, trial_end + step * 6 * HOUR_S)
    waiting = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
    assert waiting["status"] == "past_due"
    invoice = await get(client, merchant, f"/v1/invoices/{waiting['latest_invoice']}")
    assert invoice["status"] == "open" and invoice["attempt_count"] == 0
    notices = await _notices(database, subscription["id"])
    renewal = notices[f"renewal:{subscription['id']}:0"]
    assert renewal["charged"]  # the renewal's try is over, counted as failed
    first_retry = notices[f"retry:{invoice['id']}:1"]
    assert first_retry["status"] == "sent" and first_retry["needs_authentication"]
    retries_told = [
        notice
        for key, notice in notices.items()
        if key.startswith(f"retry:{invoice['id']}:") and notice["status"] == "sent"
    ]
    assert len(retries_told) >= 2 and all(n["needs_authentication"] for n in retries_told)
    # Each told retry asked the customer again: the renewal's finalization, then one a retry.
    action = [
        found
        for found in await _events(database, "invoice.payment_action_required")
        if found["id"] == invoice["id"]
    ]
    assert len(action) == 1 + len(retries_told)


async def test_the_merchants_own_schedule_and_final_action_are_used(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    refused = await post(
        client, merchant, "/v1/billing/dunning_settings", **{"retry_offsets_days[0]": "0"}
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "retry_schedule_invalid"
    assert refused.json()["error"]["param"] == "retry_offsets_days"
    unordered = await post(
        client,
        merchant,
        "/v1/billing/dunning_settings",
        **{"retry_offsets_seconds[0]": "7200", "retry_offsets_seconds[1]": "3600"},
    )
    assert unordered.json()["error"]["param"] == "retry_offsets_seconds"
    defaults = await get(client, merchant, "/v1/billing/dunning_settings")
    assert defaults["retry_offsets_seconds"] == [
        days * DAY_S for days in (1, 2, 3, 5, 7, 9, 11, 14)
    ]
    assert defaults["final_action"] == "cancel"
    settings = await ok(
        await post(
            client,
            merchant,
            "/v1/billing/dunning_settings",
            **{"retry_offsets_days[0]": "2", "final_action": "mark_unpaid"},
        )
    )
    assert settings["retry_offsets_seconds"] == [2 * DAY_S]
    assert settings["final_action"] == "mark_unpaid" and settings["final_invoice"] == "leave_open"
    clock, buyer, subscription, period_end = await _active(client, merchant, database)
    await _declining(client, merchant, buyer["id"])
    for step in range(1, 4 * 5):  # five days, six hours at a time
        await _to(client, merchant, database, clock, period_end + step * 6 * HOUR_S)
    unpaid = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
    assert unpaid["status"] == "unpaid"
    invoice = await get(client, merchant, f"/v1/invoices/{unpaid['latest_invoice']}")
    assert invoice["attempt_count"] == 2 and invoice["status"] == "open"  # one retry only


async def test_trial_will_end_is_sent_three_days_ahead_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = (await new_clock(client, merchant, START))["id"]
    buyer = await customer(client, merchant, test_clock=clock)
    price = await monthly_price(client, merchant)
    subscription = await subscribe(client, merchant, buyer["id"], price["id"], trial_period_days=7)
    trial_end = subscription["trial_end"]

    async def told() -> int:
        found = await _events(database, "customer.subscription.trial_will_end")
        return sum(1 for item in found if item["id"] == subscription["id"])

    await _to(client, merchant, database, clock, trial_end - 3 * DAY_S - HOUR_S)
    assert await told() == 0
    await _to(client, merchant, database, clock, trial_end - 3 * DAY_S + HOUR_S)
    assert await told() == 1
    await run_advances(database)  # run again: nothing more
    await _to(client, merchant, database, clock, trial_end + HOUR_S)
    assert await told() == 1
    # A trial shorter than three days: told at once, when it starts.
    short = await subscribe(client, merchant, buyer["id"], price["id"], trial_period_days=1)
    found = await _events(database, "customer.subscription.trial_will_end")
    assert [item["status"] for item in found if item["id"] == short["id"]] == ["trialing"]


async def test_every_job_run_twice_changes_nothing(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    # In real time: a trial of a day, so its renewal's notice is due at once (late).
    price = await monthly_price(client, merchant)
    buyer = await customer(client, merchant)
    subscription = await subscribe(client, merchant, buyer["id"], price["id"], trial_period_days=1)
    async with database.unit_of_work() as session:
        jobs = await session.execute(
            text(
                "UPDATE procrastinate_jobs SET status = 'succeeded'"
                " WHERE task_name = 'subscriptions:notify' AND status = 'todo'"
                " RETURNING args->>'notice'"
            )
        )
        notice_ids = [str(value) for value in jobs.scalars()]
    assert len(notice_ids) == 2  # the renewal's notice and the trial's end
    sent = []
    for _ in range(2):
        for notice_id in notice_ids:
            async with database.unit_of_work() as session:
                sent.append(await notify_now(session, notice_id))
    assert sent == [True, False, False, False] or sent.count(True) == 1
    assert len(_of(await _events(database, "invoice.upcoming"), subscription["id"])) == 1
    assert len(await send_queued(database)) == 1
    assert len(await send_queued(database)) == 0
    notice = (await _notices(database, subscription["id"]))[f"renewal:{subscription['id']}:0"]
    assert notice["status"] == "sent"
    # A clock's advance run twice: notices and tries once (the other tests run every
    # advance job; here the same advance twice).
    clock, _buyer, clocked, period_end = await _active(client, merchant, database)
    await ok(await advance(client, merchant, clock, period_end + 2 * HOUR_S))
    async with database.unit_of_work() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT args->>'test_clock', (args->>'frozen_time')::bigint"
                    " FROM procrastinate_jobs WHERE task_name = 'test_clocks:advance'"
                    " AND status = 'todo'"
                )
            )
        ).all()
    for clock_id, frozen_time in rows:
        await advance_on(database, str(clock_id), int(frozen_time), last=True)
        await advance_on(database, str(clock_id), int(frozen_time), last=True)
    await run_advances(database)
    await run_invoice_jobs(database)
    assert len(_of(await _events(database, "invoice.upcoming"), clocked["id"])) == 1
    renewed = await get(client, merchant, f"/v1/subscriptions/{clocked['id']}")
    invoice = await get(client, merchant, f"/v1/invoices/{renewed['latest_invoice']}")
    assert invoice["status"] == "paid" and invoice["attempt_count"] == 1


async def test_two_workers_sending_one_notice_at_once_send_it_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    price = await monthly_price(client, merchant)
    buyer = await customer(client, merchant)
    subscription = await subscribe(client, merchant, buyer["id"], price["id"], trial_period_days=1)
    key = f"renewal:{subscription['id']}:0"
    async with database.unit_of_work() as session:
        notice_id = (
            await session.execute(
                text("SELECT id FROM subscription_notices WHERE key = :key"), {"key": key}
            )
        ).scalar_one()

    async def send() -> bool:
        async with database.unit_of_work() as session:
            return await notify_now(session, str(notice_id))

    outcomes = await asyncio.gather(send(), send())
    assert sorted(outcomes) == [False, True]
    assert len(_of(await _events(database, "invoice.upcoming"), subscription["id"])) == 1
    assert len(await send_queued(database)) == 1


async def _take(database: Database, task: str) -> list[dict[str, Any]]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text(
                "UPDATE procrastinate_jobs SET status = 'succeeded'"
                " WHERE task_name = :task AND status = 'todo' RETURNING args"
            ),
            {"task": task},
        )
        return [dict(args) for args in rows.scalars()]


async def test_in_real_time_a_held_renewal_is_charged_by_its_job_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    price = await monthly_price(client, merchant)
    buyer = await customer(client, merchant)
    subscription = await subscribe(client, merchant, buyer["id"], price["id"], trial_period_days=1)
    for args in await _take(database, "subscriptions:notify"):
        async with database.unit_of_work() as session:
            await notify_now(session, args["notice"])
    # A day on, as the renew job finds it: the trial is over (its times moved into the past).
    async with database.unit_of_work() as session:
        await session.execute(
            text(
                "UPDATE subscriptions SET current_period_start = now() - interval '1 day 1 min',"
                " trial_start = now() - interval '1 day 1 min',"
                " current_period_end = now() - interval '1 min',"
                " trial_end = now() - interval '1 min',"
                " billing_cycle_anchor = now() - interval '1 min' WHERE id = :id"
            ),
            {"id": subscription["id"]},
        )
    async with database.unit_of_work() as session:
        assert await renew_now(session, subscription["id"], -1)
    renewed = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
    invoice_id = renewed["latest_invoice"]
    async with database.unit_of_work() as session:
        await session.execute(
            text(
                "UPDATE invoices SET automatically_finalizes_at = now() - interval '1 s'"
                " WHERE id = :id"
            ),
            {"id": invoice_id},
        )
    for args in await _take(database, "invoices:advance"):
        await advance_draft(database, args["invoice"])
    # Finalized, but its notice went less than 25 hours ago: held, no collection yet.
    held = await get(client, merchant, f"/v1/invoices/{invoice_id}")
    assert held["status"] == "open" and held["attempt_count"] == 0
    assert await _take(database, "invoices:collect") == []
    (charge,) = await _take(database, "subscriptions:charge")
    async with database.unit_of_work() as session:
        assert not await charge_now(session, charge["notice"])  # not yet its time
        await session.execute(
            text("UPDATE subscription_notices SET charge_at = now() WHERE id = :id"),
            {"id": charge["notice"]},
        )
    outcomes = []
    for _ in range(2):
        async with database.unit_of_work() as session:
            outcomes.append(await charge_now(session, charge["notice"]))
    assert outcomes == [True, False]
    await run_invoice_jobs(database)
    paid = await get(client, merchant, f"/v1/invoices/{invoice_id}")
    assert paid["status"] == "paid" and paid["attempt_count"] == 1


async def test_after_the_last_retry_the_invoice_is_marked_uncollectible_if_the_merchant_says_so(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await ok(
        await post(
            client,
            merchant,
            "/v1/billing/dunning_settings",
            **{"retry_offsets_seconds[0]": str(DAY_S), "final_invoice": "mark_uncollectible"},
        )
    )
    clock, buyer, subscription, period_end = await _active(client, merchant, database)
    await _declining(client, merchant, buyer["id"])
    for step in range(1, 4 * 4):  # four days, six hours at a time
        await _to(client, merchant, database, clock, period_end + step * 6 * HOUR_S)
    ended = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
    assert ended["status"] == "canceled"
    assert ended["cancellation_details"]["reason"] == "payment_failed"
    invoice = await get(client, merchant, f"/v1/invoices/{ended['latest_invoice']}")
    assert invoice["status"] == "uncollectible" and invoice["attempt_count"] == 2
    # The live mode's settings are its own: still Stripe's defaults there.
    live = await client.get("/v1/billing/dunning_settings", headers=merchant.auth("sk_live"))
    assert live.json()["final_invoice"] == "leave_open" and live.json()["livemode"] is True
