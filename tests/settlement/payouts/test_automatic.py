"""Payout schedules and automatic payouts: the default schedule follows the windows' speed;
changing it sets the windows' speed (delay_days ↔ t0/t1/t2) and bad values are named; a daily
schedule pays each closed window's net once (a repeat of the close pays nothing twice), the
rail asked by the job after commit; a window with nothing pays nothing."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.kit.errors import InvalidRequestError
from beyondpay.payments.tasks import release_funds
from beyondpay.settlement.payouts.schedules import merchant_caller, payout_schedule_service
from beyondpay.settlement.payouts.service import automatic_payout_id
from beyondpay.settlement.payouts.tasks import advance_on
from beyondpay.settlement.windows.service import settlement_window_service
from beyondpay.settlement.windows.tasks import close_due_windows
from tests.payments.support import get, pay
from tests.settlement.payouts.support import AVAILABLE, bank_account, consistent, payout_events
from tests.settlement.windows.support import ist
from tests.support import TestMerchant

MONDAY_MORNING = ist(2026, 12, 14, 9, 0)
MONDAY_CUT_OFF = ist(2026, 12, 14, 18, 0)  # t1: one cut-off a working day, 18:00 IST
TUESDAY_CUT_OFF = ist(2026, 12, 15, 18, 0)


async def test_the_schedule_defaults_to_daily_at_the_windows_speed_and_sets_it(
    database: Database, merchant: TestMerchant
) -> None:
    async with database.unit_of_work() as session:
        schedule = await payout_schedule_service.get(session, merchant.id, False)
    assert schedule == {
        "delay_days": 1,
        "interval": "daily",
        "monthly_anchor": None,
        "weekly_anchor": None,
    }
    async with database.unit_of_work() as session:
        weekly = await payout_schedule_service.update(
            session, merchant.id, False, interval="weekly", delay_days=0, weekly_anchor="friday"
        )
        windows = await settlement_window_service.schedule(
            session, merchant_caller(merchant.id, False)
        )
    assert weekly["interval"] == "weekly" and weekly["weekly_anchor"] == "friday"
    assert weekly["delay_days"] == 0 and windows["speed"] == "t0"
    async with database.unit_of_work() as session:
        monthly = await payout_schedule_service.update(
            session, merchant.id, False, interval="monthly"
        )
    assert monthly["monthly_anchor"] == 1 and monthly["weekly_anchor"] is None


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"interval": "hourly"}, "settings[payouts][schedule][interval]"),
        ({"delay_days": 3}, "settings[payouts][schedule][delay_days]"),
        ({"weekly_anchor": "someday"}, "settings[payouts][schedule][weekly_anchor]"),
        ({"monthly_anchor": 32}, "settings[payouts][schedule][monthly_anchor]"),
    ],
)
async def test_a_bad_schedule_is_named(
    database: Database, merchant: TestMerchant, change: dict[str, object], param: str
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        async with database.unit_of_work() as session:
            await payout_schedule_service.update(session, merchant.id, False, **change)  # type: ignore[arg-type]
    assert refused.value.param == param


async def test_a_daily_schedule_pays_each_closed_windows_net_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    with use_clock(FrozenClock(ist(2026, 12, 12, 10, 30))):  # available Monday 10:30
        await pay(client, merchant, payment_method="pm_card_visa")
    account = await bank_account(client, merchant, database)
    with use_clock(FrozenClock(MONDAY_MORNING)):
        async with database.unit_of_work() as session:
            await payout_schedule_service.update(
                session, merchant.id, False, interval="daily", delay_days=1
            )
    with use_clock(FrozenClock(ist(2026, 12, 14, 12, 0))):
        assert await release_funds(database) == 1
    closing = FrozenClock(MONDAY_CUT_OFF + timedelta(seconds=31))
    with use_clock(closing):
        assert await close_due_windows(database) == ["sw_t1_202612141800"]
        assert await close_due_windows(database) == []  # twice: nothing twice
    payout_id = automatic_payout_id(merchant.id, False, "sw_t1_202612141800")
    payout = await get(client, merchant, f"/v1/payouts/{payout_id}")
    assert payout["automatic"] is True and payout["status"] == "pending"
    assert payout["amount"] == AVAILABLE and payout["destination"] == account["id"]
    assert payout["settlement_window"] == "sw_t1_202612141800"
    # It leaves to arrive at the window's eta (Tuesday 11:00), not before.
    eta = ist(2026, 12, 15, 11, 0)
    assert payout["arrival_date"] == int(eta.timestamp())
    with use_clock(closing):
        assert await advance_on(database, payout_id) == "pending"
    with use_clock(FrozenClock(eta - timedelta(seconds=5))):
        assert await advance_on(database, payout_id) == "pending"
    with use_clock(FrozenClock(eta)):
        assert await advance_on(database, payout_id) == "paid"
        assert await advance_on(database, payout_id) == "paid"  # twice: paid once
    assert await payout_events(database, payout_id) == [
        "payout.created",
        "payout.updated",
        "payout.paid",
    ]
    assert await consistent(client, merchant, database) == 0

    # Tuesday's window netted nothing (the payout's own balance transaction is not netted).
    with use_clock(FrozenClock(TUESDAY_CUT_OFF + timedelta(seconds=31))):
        assert await close_due_windows(database) == ["sw_t1_202612151800"]
    assert len((await get(client, merchant, "/v1/payouts"))["data"]) == 1
