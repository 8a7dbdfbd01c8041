"""Payout schedules (Stripe's ``settings.payouts.schedule``): read, change, and the merchant's
row locked — the per-merchant lock every payout takes before it reads the balance. Never
commits.

``delay_days`` is the settlement windows' speed (domain.py): a non-manual schedule makes sure
the merchant has a windows schedule at that speed (``settlement.windows``), whose closed windows
pay the automatic payouts. Lock order: the windows' schedule row first, then this one — the
order a window's close takes them in (its handler locks this row), so the two never deadlock.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.invariants import invariant
from beyondpay.merchants.domain import Caller, KeyKind
from beyondpay.settlement.payouts import domain
from beyondpay.settlement.payouts.domain import Interval
from beyondpay.settlement.payouts.errors import PayoutScheduleInvalidError
from beyondpay.settlement.payouts.models import PayoutScheduleRow
from beyondpay.settlement.windows.domain import Speed
from beyondpay.settlement.windows.schemas import ScheduleParams
from beyondpay.settlement.windows.service import settlement_window_service

PARAM_PREFIX: Final = "settings[payouts][schedule]"
_SYSTEM_KEY: Final = "settlement.payouts"


def merchant_caller(merchant_id: str, livemode: bool) -> Caller:
    """The merchant itself, as the windows' service takes it (changes made for its payouts)."""
    return Caller(
        key_id=_SYSTEM_KEY,
        kind=KeyKind.secret,
        livemode=livemode,
        merchant_id=merchant_id,
        merchant_status=None,
    )


def schedule_object(row: PayoutScheduleRow) -> dict[str, Any]:
    return {
        "delay_days": row.delay_days,
        "interval": row.interval,
        "monthly_anchor": row.monthly_anchor if row.interval == Interval.monthly else None,
        "weekly_anchor": row.weekly_anchor if row.interval == Interval.weekly else None,
    }


async def locked_schedule(
    session: AsyncSession, merchant_id: str, livemode: bool
) -> PayoutScheduleRow:
    """The merchant's schedule row, locked to the end of the transaction: written with the
    default (daily, ``delay_days`` the windows' speed) the first time. Two first payouts at
    once: one inserts, the other waits for it and finds it."""
    now = utcnow()
    windows = await settlement_window_service.schedule(
        session, merchant_caller(merchant_id, livemode)
    )
    await session.execute(
        insert(PayoutScheduleRow)
        .values(
            merchant_id=merchant_id,
            livemode=livemode,
            interval=Interval.daily.value,
            delay_days=domain.delay_days_of(str(windows["speed"])),
            weekly_anchor=None,
            monthly_anchor=None,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing()
    )
    row: PayoutScheduleRow | None = (
        await session.execute(
            select(PayoutScheduleRow)
            .where(
                PayoutScheduleRow.merchant_id == merchant_id,
                PayoutScheduleRow.livemode == livemode,
            )
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    invariant(row is not None, "the schedule row exists once inserted")
    assert row is not None
    return row


def _checked(
    current: PayoutScheduleRow,
    interval: str | None,
    delay_days: int | None,
    weekly_anchor: str | None,
    monthly_anchor: int | None,
) -> tuple[Interval, int, str | None, int | None]:
    try:
        chosen = Interval(interval if interval is not None else current.interval)
    except ValueError:
        raise PayoutScheduleInvalidError(
            "interval is one of manual, daily, weekly, monthly.", param=f"{PARAM_PREFIX}[interval]"
        ) from None
    delay = delay_days if delay_days is not None else current.delay_days
    if isinstance(delay, bool) or not 0 <= delay <= domain.DELAY_DAYS_MAX:
        raise PayoutScheduleInvalidError(
            "delay_days is 0, 1 or 2 working days: the settlement windows' speeds t0, t1, t2.",
            param=f"{PARAM_PREFIX}[delay_days]",
        )
    weekly = weekly_anchor if weekly_anchor is not None else current.weekly_anchor
    if weekly is not None and weekly not in domain.WEEKDAYS:
        raise PayoutScheduleInvalidError(
            "weekly_anchor is a day of the week (monday … sunday).",
            param=f"{PARAM_PREFIX}[weekly_anchor]",
        )
    monthly = monthly_anchor if monthly_anchor is not None else current.monthly_anchor
    if monthly is not None and not 1 <= monthly <= domain.MONTHLY_ANCHOR_MAX:
        raise PayoutScheduleInvalidError(
            "monthly_anchor is a day of the month, 1 to 31.",
            param=f"{PARAM_PREFIX}[monthly_anchor]",
        )
    if chosen is Interval.weekly:
        weekly = weekly or domain.DEFAULT_WEEKLY_ANCHOR
    if chosen is Interval.monthly:
        monthly = monthly or domain.DEFAULT_MONTHLY_ANCHOR
    return chosen, delay, weekly, monthly


async def _current(session: AsyncSession, merchant_id: str, livemode: bool) -> PayoutScheduleRow:
    """The schedule as it stands, unlocked (a default one, not written, before the first)."""
    row: PayoutScheduleRow | None = (
        await session.execute(
            select(PayoutScheduleRow).where(
                PayoutScheduleRow.merchant_id == merchant_id,
                PayoutScheduleRow.livemode == livemode,
            )
        )
    ).scalar_one_or_none()
    if row is not None:
        return row
    windows = await settlement_window_service.schedule(
        session, merchant_caller(merchant_id, livemode)
    )
    return PayoutScheduleRow(
        interval=Interval.daily.value,
        delay_days=domain.delay_days_of(str(windows["speed"])),
        weekly_anchor=None,
        monthly_anchor=None,
    )


class PayoutScheduleService:
    async def get(self, session: AsyncSession, merchant_id: str, livemode: bool) -> dict[str, Any]:
        """The merchant's payout schedule in Stripe's shape (written with the default the first
        time it is read)."""
        return schedule_object(await locked_schedule(session, merchant_id, livemode))

    async def update(
        self,
        session: AsyncSession,
        merchant_id: str,
        livemode: bool,
        *,
        interval: str | None = None,
        delay_days: int | None = None,
        weekly_anchor: str | None = None,
        monthly_anchor: int | None = None,
    ) -> dict[str, Any]:
        """Changes the schedule; what is not given stays. 400 naming
        ``settings[payouts][schedule][…]`` for a bad value, before anything is written."""
        seen = await _current(session, merchant_id, livemode)
        chosen, delay, weekly, monthly = _checked(
            seen, interval, delay_days, weekly_anchor, monthly_anchor
        )
        if chosen is not Interval.manual:
            # The windows' schedule row before ours, as a window's close takes them; chosen
            # for the first time (``updated`` null) if the merchant had none: its windows pay.
            caller = merchant_caller(merchant_id, livemode)
            windows = await settlement_window_service.schedule(session, caller)
            if windows["updated"] is None or windows["speed"] != domain.speed_of(delay):
                await settlement_window_service.set_schedule(
                    session, caller, ScheduleParams(speed=Speed(domain.speed_of(delay)))
                )
        current = await locked_schedule(session, merchant_id, livemode)
        current.interval = chosen.value
        current.delay_days = delay
        current.weekly_anchor = weekly
        current.monthly_anchor = monthly
        current.updated_at = utcnow()
        await session.flush()
        return schedule_object(current)


payout_schedule_service = PayoutScheduleService()
