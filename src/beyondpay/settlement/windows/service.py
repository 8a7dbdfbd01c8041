"""Settlement windows' use cases: the merchant's schedule, its next window, and closing the
windows whose cut-off has passed. Never commits: the request or the job owns the transaction.

A merchant's windows are a chain, recorded from the moment it first chooses a schedule: each
window opens at the previous one's cut-off, and only the last is ``open`` (a unique index). The
schedule's row lock orders every change to a merchant's chain — choosing a schedule and closing a
window both take it first — so windows close one at a time, oldest first, each exactly once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.invariants import invariant
from beyondpay.merchants.domain import Caller
from beyondpay.payments.service import available_totals
from beyondpay.settlement.windows import domain
from beyondpay.settlement.windows.domain import Schedule, Speed, Window
from beyondpay.settlement.windows.errors import CutOffsNotAllowedError
from beyondpay.settlement.windows.events import SettlementWindowEvent, record
from beyondpay.settlement.windows.models import SettlementScheduleRow, SettlementWindowRow
from beyondpay.settlement.windows.schemas import (
    ScheduleParams,
    as_window,
    schedule_object,
    window_row_object,
)

# A payment or refund whose balance transaction is available at once (``available_on`` = its
# creation) may commit a moment after that instant: the window waits this long past its cut-off
# before it nets, so that such a transaction is counted in it.
CLOSE_AFTER_CUT_OFF: Final = timedelta(seconds=30)
# Closed later than this past the cut-off (plus the wait above), a window says it was late.
CLOSED_LATE_AFTER: Final = timedelta(seconds=60)
# A worker down for a month at six cut-offs a day is within this; the countdown walks no further.
WINDOWS_AHEAD_MAX: Final = 1_000


def schedule_of(row: SettlementScheduleRow | None) -> Schedule:
    if row is None:
        return Schedule()
    cut_offs = tuple(domain.parse_cut_off(text) for text in row.cut_offs)
    return Schedule(Speed(row.speed), cut_offs if row.speed == Speed.t0 else ())


async def _schedule_row(
    session: AsyncSession, merchant_id: str, livemode: bool, *, lock: bool = False
) -> SettlementScheduleRow | None:
    statement = select(SettlementScheduleRow).where(
        SettlementScheduleRow.merchant_id == merchant_id,
        SettlementScheduleRow.livemode == livemode,
    )
    if lock:
        statement = statement.with_for_update()
    row: SettlementScheduleRow | None = (await session.execute(statement)).scalar_one_or_none()
    return row


async def _open_window(
    session: AsyncSession, merchant_id: str, livemode: bool
) -> SettlementWindowRow | None:
    row: SettlementWindowRow | None = (
        await session.execute(
            select(SettlementWindowRow)
            .where(
                SettlementWindowRow.merchant_id == merchant_id,
                SettlementWindowRow.livemode == livemode,
                SettlementWindowRow.status == "open",
            )
            .with_for_update()
        )
    ).scalar_one_or_none()
    return row


def _new_window_row(merchant_id: str, livemode: bool, window: Window) -> SettlementWindowRow:
    invariant(window.opens_at < window.cut_off_at <= window.eta, "a window's times are ordered")
    return SettlementWindowRow(
        merchant_id=merchant_id,
        livemode=livemode,
        id=window.id,
        speed=window.speed.value,
        opens_at=window.opens_at,
        cut_off_at=window.cut_off_at,
        eta=window.eta,
        status="open",
        closed_at=None,
        closed_late=False,
        totals=[],
        transaction_count=0,
        created_at=utcnow(),
    )


def _chosen(current: Schedule, params: ScheduleParams) -> Schedule:
    speed = params.speed if params.speed is not None else current.speed
    if params.cutoffs is not None and speed is not Speed.t0:
        raise CutOffsNotAllowedError(
            f"cutoffs are chosen only for t0; {speed.value} has one cut-off a working day "
            f"({domain.DAILY_CUT_OFF:%H:%M} IST).",
            param="cutoffs",
        )
    if params.cutoffs is not None:
        return Schedule(speed, tuple(domain.parse_cut_off(text) for text in params.cutoffs))
    if speed is Speed.t0 and current.speed is Speed.t0:
        return current
    return Schedule(speed)


class SettlementWindowService:
    async def schedule(self, session: AsyncSession, caller: Caller) -> dict[str, Any]:
        row = await _schedule_row(session, caller.merchant, caller.livemode)
        return schedule_object(
            schedule_of(row), caller.livemode, None if row is None else row.updated_at
        )

    async def set_schedule(
        self, session: AsyncSession, caller: Caller, params: ScheduleParams
    ) -> dict[str, Any]:
        """Chooses the merchant's schedule. The open window, if its cut-off is still ahead, is
        cut again under the new schedule (same opening, the new next cut-off): nothing of it has
        settled yet. A window whose cut-off has passed keeps it: the job closes it as promised,
        and the windows after it follow the new schedule."""
        now = utcnow()
        # Two first choices at once: one inserts, the other finds it; both then lock it.
        inserted = await session.execute(
            insert(SettlementScheduleRow)
            .values(
                merchant_id=caller.merchant,
                livemode=caller.livemode,
                speed=Speed.t1.value,
                cut_offs=[],
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing()
            .returning(SettlementScheduleRow.merchant_id)
        )
        first_choice = inserted.first() is not None
        row = await _schedule_row(session, caller.merchant, caller.livemode, lock=True)
        invariant(row is not None, "the schedule row exists once inserted")
        assert row is not None
        current = schedule_of(row)
        chosen = _chosen(current, params)
        previous = schedule_object(current, caller.livemode, row.updated_at)
        row.speed = chosen.speed.value
        row.cut_offs = [f"{at:%H:%M}" for at in chosen.cut_offs]
        row.updated_at = now
        await self._recut_open_window(session, caller, chosen, now)
        rendered = schedule_object(chosen, caller.livemode, now)
        changed = {
            key: previous[key] for key in ("speed", "cutoffs") if previous[key] != rendered[key]
        }
        # The first choice is a change even when it is the default: the windows start with it.
        if changed or first_choice:
            await record(
                session,
                merchant_id=caller.merchant,
                livemode=caller.livemode,
                type=SettlementWindowEvent.schedule_updated,
                object=rendered,
                previous_attributes=changed or None,
            )
        await session.flush()
        return rendered

    async def _recut_open_window(
        self, session: AsyncSession, caller: Caller, schedule: Schedule, now: datetime
    ) -> None:
        head = await _open_window(session, caller.merchant, caller.livemode)
        if head is None:
            window = domain.window_at(schedule, now)
        elif head.cut_off_at > now:
            # Same opening, the new schedule's next cut-off from now: cut-offs of the new
            # schedule that have already passed since the opening do not split it after the fact.
            cut_off_at = domain.next_cut_off(schedule, now)
            window = Window(
                schedule.speed, head.opens_at, cut_off_at, domain.eta(schedule.speed, cut_off_at)
            )
            if window.id == head.id:
                return
            await session.delete(head)
            await session.flush()
        else:
            return
        session.add(_new_window_row(caller.merchant, caller.livemode, window))
        await session.flush()

    async def next_window(self, session: AsyncSession, caller: Caller) -> dict[str, Any]:
        """The first window whose cut-off is ahead: the open one, or — after a worker was down
        across cut-offs — the one the chain reaches next, with the id it will be recorded under.
        Before a merchant chooses a schedule, the default schedule's."""
        now = utcnow()
        schedule_row = await _schedule_row(session, caller.merchant, caller.livemode)
        schedule = schedule_of(schedule_row)
        head: SettlementWindowRow | None = (
            await session.execute(
                select(SettlementWindowRow).where(
                    SettlementWindowRow.merchant_id == caller.merchant,
                    SettlementWindowRow.livemode == caller.livemode,
                    SettlementWindowRow.status == "open",
                )
            )
        ).scalar_one_or_none()
        if head is None:
            return window_row_object(_unrecorded(caller, domain.window_at(schedule, now)), now)
        window = as_window(head)
        for _ in range(WINDOWS_AHEAD_MAX):
            if window.cut_off_at > now:
                break
            window = domain.window_after(schedule, window.cut_off_at)
        if window.id == head.id:
            return window_row_object(head, now)
        return window_row_object(_unrecorded(caller, window), now)


def _unrecorded(caller: Caller, window: Window) -> SettlementWindowRow:
    return _new_window_row(caller.merchant, caller.livemode, window)


async def close_next_due(session: AsyncSession) -> str | None:
    """Closes the oldest open window whose cut-off (plus ``CLOSE_AFTER_CUT_OFF``) has passed, of
    a merchant no other run is closing (its schedule locked, SKIP LOCKED), and opens the next
    window of its chain; returns the closed window's id, or None when none is due. The caller
    commits: one window per transaction."""
    now = utcnow()
    due = (
        await session.execute(
            select(SettlementScheduleRow)
            .join(
                SettlementWindowRow,
                (SettlementWindowRow.merchant_id == SettlementScheduleRow.merchant_id)
                & (SettlementWindowRow.livemode == SettlementScheduleRow.livemode),
            )
            .where(
                SettlementWindowRow.status == "open",
                SettlementWindowRow.cut_off_at <= now - CLOSE_AFTER_CUT_OFF,
            )
            .order_by(SettlementWindowRow.cut_off_at)
            .limit(1)
            .with_for_update(of=SettlementScheduleRow, skip_locked=True)
        )
    ).scalar_one_or_none()
    if due is None:
        return None
    head = await _open_window(session, due.merchant_id, due.livemode)
    # Under the schedule's lock the head cannot have moved since the join saw it due.
    invariant(head is not None and head.cut_off_at <= now, "the due window is still open")
    assert head is not None
    await _close(session, head, now)
    following = domain.window_after(schedule_of(due), head.cut_off_at)
    session.add(_new_window_row(due.merchant_id, due.livemode, following))
    await session.flush()
    return head.id


async def _close(session: AsyncSession, head: SettlementWindowRow, now: datetime) -> None:
    totals = await available_totals(
        session, head.merchant_id, head.livemode, head.opens_at, head.cut_off_at
    )
    head.status = "closed"
    head.closed_at = now
    head.closed_late = now - head.cut_off_at > CLOSE_AFTER_CUT_OFF + CLOSED_LATE_AFTER
    head.totals = totals
    head.transaction_count = sum(total["count"] for total in totals)
    invariant(
        all(total["amount"] - total["fee"] == total["net"] for total in totals),
        "a window's net is its amount less its fees",
    )
    await session.flush()
    await record(
        session,
        merchant_id=head.merchant_id,
        livemode=head.livemode,
        type=SettlementWindowEvent.closed,
        object=window_row_object(head, now),
    )
    closed = ClosedWindow(
        head.merchant_id, head.livemode, head.id, head.cut_off_at, list(head.totals), head.eta
    )
    for handler in tuple(_window_closed_handlers):
        await handler(session, closed)


settlement_window_service = SettlementWindowService()


# --- who hears a window closed (payouts: the automatic payout it makes) ----------------------


@dataclass(frozen=True, slots=True)
class ClosedWindow:
    """A window just closed, as its handlers hear it: its totals per currency (``amount``,
    ``fee``, ``net``, ``count``)."""

    merchant_id: str
    livemode: bool
    id: str
    cut_off_at: datetime
    totals: list[dict[str, Any]]
    # When the window's money is promised at the bank (what the countdown showed).
    eta: datetime


# Called in the transaction that closes the window (its schedule row locked), once per window.
WindowClosedHandler = Callable[[AsyncSession, ClosedWindow], Awaitable[None]]
_window_closed_handlers: list[WindowClosedHandler] = []


def on_window_closed(handler: WindowClosedHandler) -> None:
    """Registers ``handler`` (from app.py); registering twice changes nothing."""
    if handler not in _window_closed_handlers:
        _window_closed_handlers.append(handler)


def off_window_closed(handler: WindowClosedHandler) -> None:
    if handler in _window_closed_handlers:
        _window_closed_handlers.remove(handler)


async def window_spans(
    session: AsyncSession, merchant_id: str, livemode: bool, window_ids: list[str]
) -> dict[str, tuple[datetime, datetime]]:
    """Each named window's ``(opens_at, cut_off_at)``: what it netted (read only)."""
    if not window_ids:
        return {}
    rows = await session.execute(
        select(
            SettlementWindowRow.id, SettlementWindowRow.opens_at, SettlementWindowRow.cut_off_at
        ).where(
            SettlementWindowRow.merchant_id == merchant_id,
            SettlementWindowRow.livemode == livemode,
            SettlementWindowRow.id.in_(window_ids),
        )
    )
    return {window_id: (opens, cut_off) for window_id, opens, cut_off in rows.all()}
