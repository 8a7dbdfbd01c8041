"""Invoices at their times: an auto-advancing draft finalized about an hour after its creation
and then collected or emailed (the jobs run twice do it once), an open send_invoice invoice
marked overdue once after its due date, and both driven by a test clock for a customer on
one (the real-time jobs leave those alone)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from beyondpay.billing.invoices.collection import collect_on
from beyondpay.billing.invoices.timers import advance_draft, mark_overdue
from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, get_clock, use_clock
from tests.billing.invoices.support import (
    customer,
    draft,
    events_of,
    ok,
    queued,
    run_invoice_jobs,
)
from tests.notifications.support import queued_sends
from tests.payments.support import get, post
from tests.support import TestMerchant
from tests.test_clocks.support import advance, new_clock, run_advances

HOUR = timedelta(hours=1)


def _later(delta: timedelta) -> FrozenClock:
    return FrozenClock(get_clock().now() + delta)


async def test_an_auto_advancing_draft_is_finalized_an_hour_later_then_charged(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant)
    invoice = await draft(client, merchant, buyer["id"], auto_advance="true")
    assert invoice["auto_advance"] is True
    assert invoice["automatically_finalizes_at"] == invoice["created"] + 3_600
    (job,) = await queued(database, "invoices:advance")
    assert job == {"invoice": invoice["id"]}
    # Before its time the job finds nothing to do (a job run early, or the time moved).
    await advance_draft(database, invoice["id"])
    assert (await get(client, merchant, f"/v1/invoices/{invoice['id']}"))["status"] == "draft"
    with use_clock(_later(HOUR + timedelta(seconds=1))):
        await advance_draft(database, invoice["id"])
        await advance_draft(database, invoice["id"])  # run twice: finalized once
    opened = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
    assert opened["status"] == "open" and opened["number"].endswith("/0000001")
    assert opened["automatically_finalizes_at"] is None
    (collection,) = await queued(database, "invoices:collect")
    assert collection == {"invoice": invoice["id"], "attempt": 1}
    await collect_on(database, invoice["id"], 1)
    await collect_on(database, invoice["id"], 1)  # run twice: charged once
    paid = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
    assert paid["status"] == "paid" and paid["attempt_count"] == 1
    assert await events_of(database, invoice["id"]) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.payment_succeeded",
        "invoice.paid",
    ]


async def test_a_declined_automatic_collection_records_the_failure_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant, card="pm_card_chargeDeclinedInsufficientFunds")
    invoice = await draft(client, merchant, buyer["id"])
    await ok(
        await post(client, merchant, f"/v1/invoices/{invoice['id']}/finalize", auto_advance="true")
    )
    assert await run_invoice_jobs(database) == 1
    await collect_on(database, invoice["id"], 1)
    failed = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
    assert failed["status"] == "open" and failed["attempt_count"] == 1
    assert failed["next_payment_attempt"] is None  # dunning comes with subscriptions
    assert (await events_of(database, invoice["id"])).count("invoice.payment_failed") == 1


async def test_turning_auto_advance_off_stops_the_finalization(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant)
    invoice = await draft(client, merchant, buyer["id"], auto_advance="true")
    off = await ok(
        await post(client, merchant, f"/v1/invoices/{invoice['id']}", auto_advance="false")
    )
    assert off["automatically_finalizes_at"] is None
    with use_clock(_later(2 * HOUR)):
        await run_invoice_jobs(database)
    assert (await get(client, merchant, f"/v1/invoices/{invoice['id']}"))["status"] == "draft"


async def test_a_send_invoice_invoice_is_emailed_then_marked_overdue_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant, card=None)
    invoice = await draft(
        client,
        merchant,
        buyer["id"],
        collection_method="send_invoice",
        days_until_due=3,
        auto_advance="true",
    )
    with use_clock(_later(HOUR + timedelta(seconds=1))):
        await advance_draft(database, invoice["id"])
    opened = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
    assert opened["status"] == "open"
    assert len(await queued_sends(database)) == 1  # the email, in the outbox
    (overdue_job,) = await queued(database, "invoices:overdue")
    assert overdue_job == {"invoice": invoice["id"]}
    await mark_overdue(database, invoice["id"])  # not yet due: nothing
    with use_clock(_later(timedelta(days=3, seconds=1))):
        await mark_overdue(database, invoice["id"])
        await mark_overdue(database, invoice["id"])
    still = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
    assert still["status"] == "open"  # Stripe's overdue invoice stays open
    assert await events_of(database, invoice["id"]) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.sent",
        "invoice.overdue",
    ]
    # Paid after its due date, it is paid; a later overdue check finds nothing to say.
    await ok(
        await post(
            client, merchant, f"/v1/invoices/{invoice['id']}/pay", payment_method="pm_card_visa"
        )
    )
    assert (await get(client, merchant, f"/v1/invoices/{invoice['id']}"))["status"] == "paid"


async def test_a_test_clock_finalizes_charges_and_marks_overdue_at_its_time(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    start = int(datetime(2027, 3, 31, 12, 0, tzinfo=UTC).timestamp())
    clock = await new_clock(client, merchant, start)
    on_clock = await customer(client, merchant, test_clock=clock["id"])
    charged = await draft(client, merchant, on_clock["id"], auto_advance="true")
    assert charged["created"] == start and charged["test_clock"] == clock["id"]
    assert charged["automatically_finalizes_at"] == start + 3_600
    sent = await draft(
        client,
        merchant,
        on_clock["id"],
        collection_method="send_invoice",
        days_until_due=1,
        auto_advance="true",
    )
    # The real-time jobs leave a clock's invoices alone, whenever they run.
    with use_clock(_later(timedelta(days=400))):
        await run_invoice_jobs(database)
    assert (await get(client, merchant, f"/v1/invoices/{charged['id']}"))["status"] == "draft"

    assert (await advance(client, merchant, clock["id"], start + 2 * 3_600)).status_code == 200
    assert await run_advances(database) == 1
    opened = await get(client, merchant, f"/v1/invoices/{charged['id']}")
    assert opened["status"] == "open"
    assert opened["status_transitions"]["finalized_at"] == start + 3_600
    # Finalized on the clock's 31 March (IST evening): FY 2026-27's number.
    assert opened["number"] == "INV/2627/0000001"
    emailed = await get(client, merchant, f"/v1/invoices/{sent['id']}")
    assert emailed["status"] == "open" and emailed["due_date"] == start + 86_400
    assert "invoice.sent" in await events_of(database, sent["id"])
    assert await run_invoice_jobs(database) == 1  # the collection, at the clock's time
    paid = await get(client, merchant, f"/v1/invoices/{charged['id']}")
    assert paid["status"] == "paid"
    assert paid["status_transitions"]["paid_at"] == start + 2 * 3_600

    # Past the due date on the clock: overdue, once, even over two advances.
    assert (await advance(client, merchant, clock["id"], start + 2 * 86_400)).status_code == 200
    await run_advances(database)
    assert (await advance(client, merchant, clock["id"], start + 3 * 86_400)).status_code == 200
    await run_advances(database)
    assert (await events_of(database, sent["id"])).count("invoice.overdue") == 1
    # A draft finalized after 1 April on the clock takes the new financial year's first number.
    later = await draft(client, merchant, on_clock["id"])
    renewed = await ok(await post(client, merchant, f"/v1/invoices/{later['id']}/finalize"))
    assert renewed["number"] == "INV/2728/0000001"


async def test_a_draft_that_cannot_be_finalized_at_its_time_keeps_why_and_waits(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    """Its coupon was used up meanwhile: the automatic finalization is refused, nothing of it is
    kept, the draft records last_finalization_error and invoice.finalization_failed once, and
    the clock's advance does not fail on it; the merchant's own finalization clears it."""
    start = int(datetime(2027, 5, 3, 6, 0, tzinfo=UTC).timestamp())
    clock = await new_clock(client, merchant, start)
    buyer = await customer(client, merchant, test_clock=clock["id"])
    once = await ok(
        await post(
            client, merchant, "/v1/coupons", percent_off="10", duration="once", max_redemptions=1
        )
    )
    invoices = [
        await draft(
            client,
            merchant,
            buyer["id"],
            auto_advance="true",
            **{"discounts[0][coupon]": once["id"]},
        )
        for _ in range(2)
    ]
    first, second = invoices
    # The first, finalized by hand, takes the coupon's one redemption.
    await ok(await post(client, merchant, f"/v1/invoices/{first['id']}/finalize"))
    assert (await advance(client, merchant, clock["id"], start + 2 * 3_600)).status_code == 200
    assert await run_advances(database) == 1
    clock_now = await get(client, merchant, f"/v1/test_helpers/test_clocks/{clock['id']}")
    assert clock_now["status"] == "ready"
    waiting = await get(client, merchant, f"/v1/invoices/{second['id']}")
    assert waiting["status"] == "draft" and waiting["number"] is None
    assert waiting["automatically_finalizes_at"] is None
    error = waiting["last_finalization_error"]
    assert error["type"] == "invalid_request_error" and error["param"] == "discounts"
    assert (await get(client, merchant, f"/v1/coupons/{once['id']}"))["times_redeemed"] == 1
    # A later advance leaves it alone: one failure recorded.
    assert (await advance(client, merchant, clock["id"], start + 4 * 3_600)).status_code == 200
    await run_advances(database)
    assert (await events_of(database, second["id"])).count("invoice.finalization_failed") == 1
    # The merchant mends it (the discount off) and finalizes: the reason goes.
    await ok(await post(client, merchant, f"/v1/invoices/{second['id']}", discounts=""))
    mended = await ok(await post(client, merchant, f"/v1/invoices/{second['id']}/finalize"))
    assert mended["status"] == "open" and mended["last_finalization_error"] is None
