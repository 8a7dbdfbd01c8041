"""The job that closes settlement windows: on time, with the window's netting (charges and
refunds that became available in it); twice without effect; late after a worker was down
across cut-offs — every window closed in order, none skipped, each ``closed_late`` with its
event; and two runs at once on real connections closing each window once."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta
from typing import Any

import httpx

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.settlement.windows.tasks import close_due_windows
from tests.payments.support import get, pay, post
from tests.settlement.windows.support import events_of_type, ist, windows
from tests.support import TestMerchant, make_merchant
from tests.test_clocks.support import new_clock

MONDAY_MORNING = ist(2026, 12, 14, 9, 0)  # Sat 12 Dec is the 2nd Saturday: the bank is closed
WEDNESDAY_NOON = ist(2026, 12, 16, 12, 0)
WORKER_DOWN_WINDOWS = [
    "sw_t0_202612141100",
    "sw_t0_202612141500",
    "sw_t0_202612141900",
    "sw_t0_202612151100",
    "sw_t0_202612151500",
    "sw_t0_202612151900",
    "sw_t0_202612161100",
]


async def _t0(client: httpx.AsyncClient, merchant: TestMerchant, at: datetime) -> None:
    with use_clock(FrozenClock(at)):
        response = await post(client, merchant, "/v1/settlement/schedule", speed="t0")
    assert response.status_code == 200, response.text


async def _close_at(database: Database, at: datetime) -> list[str]:
    with use_clock(FrozenClock(at)):
        return await close_due_windows(database)


def _in(transaction: dict[str, Any], start: datetime, end: datetime) -> bool:
    return int(start.timestamp()) <= transaction["available_on"] < int(end.timestamp())


async def test_a_window_closes_at_its_cut_off_with_what_became_available_in_it(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    # Paid on the closed Saturday: available two days later, Monday 10:30, in Monday's first
    # window (which opened on Friday at 19:00).
    with use_clock(FrozenClock(ist(2026, 12, 12, 10, 30))):
        paid = await pay(client, merchant, amount="10000", payment_method="pm_card_visa")
    await _t0(client, merchant, MONDAY_MORNING)
    with use_clock(FrozenClock(ist(2026, 12, 14, 10, 45))):
        refund = await post(
            client, merchant, "/v1/refunds", payment_intent=paid["id"], amount="3000"
        )
        assert refund.status_code == 200, refund.text
        # Paid now: available on Wednesday, in a later window.
        await pay(client, merchant, amount="5000", payment_method="pm_card_visa")
    cut_off = ist(2026, 12, 14, 11, 0)
    # The window waits a moment past its cut-off for transactions still committing.
    assert await _close_at(database, cut_off + timedelta(seconds=20)) == []
    assert await _close_at(database, cut_off + timedelta(seconds=31)) == ["sw_t0_202612141100"]
    assert await _close_at(database, cut_off + timedelta(seconds=40)) == []  # twice: no effect

    listed = await get(client, merchant, "/v1/balance_transactions", limit=100)
    opened = ist(2026, 12, 11, 19, 0)
    inside = [t for t in listed["data"] if _in(t, opened, cut_off)]
    assert sorted(t["amount"] for t in inside) == [-3_000, 10_000]
    closed, following = await windows(database, merchant.id)
    assert closed["id"] == "sw_t0_202612141100" and closed["status"] == "closed"
    assert closed["opens_at"] == opened and closed["closed_late"] is False
    assert closed["closed_at"] == cut_off + timedelta(seconds=31)
    assert closed["transaction_count"] == 2
    assert closed["totals"] == [
        {
            "currency": "inr",
            "amount": 7_000,
            "fee": sum(t["fee"] for t in inside),
            "net": sum(t["net"] for t in inside),
            "count": 2,
        }
    ]
    assert (following["id"], following["status"]) == ("sw_t0_202612141500", "open")
    assert following["opens_at"] == cut_off
    (event,) = await events_of_type(database, "settlement_window.closed")
    assert event["id"] == "sw_t0_202612141100" and event["status"] == "closed"
    assert event["totals"] == closed["totals"] and event["closed_late"] is False
    with use_clock(FrozenClock(cut_off + timedelta(seconds=40))):
        after = await get(client, merchant, "/v1/settlement/windows/next")
    assert after["id"] == "sw_t0_202612141500" and after["seconds_to_cut_off"] == 4 * 3_600 - 40


async def test_a_worker_down_across_cut_offs_closes_every_window_late_in_order(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await _t0(client, merchant, MONDAY_MORNING)
    # While the worker is down, the countdown already shows the window the chain reaches next.
    with use_clock(FrozenClock(WEDNESDAY_NOON)):
        upcoming = await get(client, merchant, "/v1/settlement/windows/next")
    assert upcoming["id"] == "sw_t0_202612161500" and upcoming["seconds_to_cut_off"] == 3 * 3_600

    assert await _close_at(database, WEDNESDAY_NOON) == WORKER_DOWN_WINDOWS
    recorded = await windows(database, merchant.id)
    assert [w["id"] for w in recorded] == [*WORKER_DOWN_WINDOWS, "sw_t0_202612161500"]
    assert all(w["status"] == "closed" and w["closed_late"] for w in recorded[:-1])
    assert recorded[-1]["status"] == "open" and not recorded[-1]["closed_late"]
    # A chain without a gap: each window opens at the one before's cut-off.
    for earlier, later in itertools.pairwise(recorded):
        assert later["opens_at"] == earlier["cut_off_at"]
    events = await events_of_type(database, "settlement_window.closed")
    assert [event["id"] for event in events] == WORKER_DOWN_WINDOWS
    assert all(event["closed_late"] for event in events)
    assert await _close_at(database, WEDNESDAY_NOON + timedelta(minutes=1)) == []


async def test_a_worker_down_over_a_long_weekend_closes_thursdays_window_on_monday(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    with use_clock(FrozenClock(ist(2026, 12, 24, 12, 0))):
        await post(client, merchant, "/v1/settlement/schedule", speed="t1")
    # Fri 25 (Christmas), Sat 26 (the 4th Saturday), Sun 27: no cut-off until Monday.
    assert await _close_at(database, ist(2026, 12, 28, 12, 0)) == ["sw_t1_202612241800"]
    closed, following = await windows(database, merchant.id)
    assert closed["closed_late"] is True
    assert following["id"] == "sw_t1_202612281800"
    assert following["opens_at"] == ist(2026, 12, 24, 18, 0)


async def test_two_runs_at_once_close_each_window_once(
    client: httpx.AsyncClient, database: Database, database_url: str
) -> None:
    merchants = [await make_merchant(database, name=f"Shop {n}") for n in range(3)]
    for merchant in merchants:
        await _t0(client, merchant, MONDAY_MORNING)
    first, second = Database(database_url, pool_size=2), Database(database_url, pool_size=2)
    try:
        with use_clock(FrozenClock(WEDNESDAY_NOON)):
            runs = await asyncio.gather(close_due_windows(first), close_due_windows(second))
    finally:
        await first.dispose()
        await second.dispose()
    assert len(runs[0]) + len(runs[1]) == 3 * len(WORKER_DOWN_WINDOWS)
    for merchant in merchants:
        recorded = await windows(database, merchant.id)
        assert [w["id"] for w in recorded] == [*WORKER_DOWN_WINDOWS, "sw_t0_202612161500"]
        assert [w["status"] for w in recorded].count("open") == 1
    events = await events_of_type(database, "settlement_window.closed")
    assert len(events) == 3 * len(WORKER_DOWN_WINDOWS)
    assert sorted(e["id"] for e in events) == sorted(WORKER_DOWN_WINDOWS * 3)


async def test_the_workers_periodic_job_closes_the_windows(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, database_url: str
) -> None:
    from beyondpay.app import running_worker

    await _t0(client, merchant, MONDAY_MORNING)
    # The worker comes back on Wednesday at noon (its clock; the periodic job runs every 5 s).
    with use_clock(FrozenClock(WEDNESDAY_NOON)):
        async with running_worker(database_url, concurrency=2), asyncio.timeout(30):
            while len(await events_of_type(database, "settlement_window.closed")) < len(
                WORKER_DOWN_WINDOWS
            ):
                await asyncio.sleep(0.2)
    events = await events_of_type(database, "settlement_window.closed")
    assert [event["id"] for event in events] == WORKER_DOWN_WINDOWS


async def test_payments_on_a_test_clock_are_left_out_of_real_time_windows(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    """A test clock stamps its customer's payments with the clock's time (their
    ``available_on`` is clock time); it does not drive the process's clock, which windows run
    on, so those payments are not netted in them (docs/development.md)."""
    paid_at = ist(2026, 12, 12, 10, 30)
    with use_clock(FrozenClock(paid_at)):
        clock = await new_clock(client, merchant, int(paid_at.timestamp()))
        customer = await post(client, merchant, "/v1/customers", test_clock=clock["id"])
        assert customer.status_code == 200, customer.text
        await pay(
            client,
            merchant,
            amount="20000",
            payment_method="pm_card_visa",
            customer=customer.json()["id"],
        )
        await pay(client, merchant, amount="10000", payment_method="pm_card_visa")
    await _t0(client, merchant, MONDAY_MORNING)
    cut_off = ist(2026, 12, 14, 11, 0)
    assert await _close_at(database, cut_off + timedelta(minutes=1)) == ["sw_t0_202612141100"]
    closed, _ = await windows(database, merchant.id)
    assert [(t["amount"], t["count"]) for t in closed["totals"]] == [(10_000, 1)]
