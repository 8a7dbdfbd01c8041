"""What runs at a clock's time: the registry other modules add to, and the advance that runs it.

A module whose objects can sit on a test clock (through their customer) registers, in
``app.wire_modules`` (the composition root, where the rails' outcome handlers are registered
too), what must happen to them when the clock moves from ``start`` to ``end``:

- ``on_advance(handler, stage=…)``: ``handler(session, interval)`` does, for the clock's
  objects, what would have happened in ``(interval.start, interval.end]``, each thing at its
  own time (funds made available on their ``available_on``, a hold voided at its expiry, an
  invoice finalized at its period's end), in the order those times fall. Handlers run by
  :class:`Stage`, then in the order registered; each must be idempotent (a transfer's id, a
  status already reached) and must not call the network — it runs in the advance's
  transaction; what needs a peer is deferred as a job in that transaction.
- ``on_delete(handler)``: ``handler(session, clock)`` removes or detaches the module's objects
  on a clock being deleted (customers are deleted with their clock, as Stripe does).

Registered today: payments' funds availability (``Stage.funds``), the expiry of a payer's
answer (``Stage.expiry``), invoices' auto-advance and due dates (``Stage.billing``), and
customers' deletion with their clock. Subscriptions, holds, mandates and payouts register
theirs when they arrive.

The advance is one transaction, under the clock's row lock: everything in the interval happens,
the clock is at ``end`` and ``ready`` and its event is recorded — or nothing happened and the
clock is still ``advancing`` (the job retries) or, given up, ``internal_failure`` at its old
time. A second run of the same advance finds the clock ready and does nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.kit.invariants import invariant
from beyondpay.test_clocks import events
from beyondpay.test_clocks.domain import Status
from beyondpay.test_clocks.events import TestClockEvent
from beyondpay.test_clocks.models import TestClockRow


class Stage(IntEnum):
    """The order in which what happened in one interval runs: money that became available
    before anything that may spend or reverse it, expiries before the checks that look for
    what is still waiting, billing last (it may take payments that use the balance)."""

    funds = 10  # pending funds become available (payments)
    expiry = 20  # holds, payer pages and collects that expire (holds, payments)
    reconciliation = 30  # what waits for a rail is checked (payments, refunds, payouts)
    billing = 40  # invoices and subscriptions at their periods' ends (billing)


@dataclass(frozen=True, slots=True)
class Interval:
    """A clock moving from ``start`` (excluded: it already happened) to ``end`` (included)."""

    clock_id: str
    merchant_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class DeletedClock:
    clock_id: str
    merchant_id: str


AdvanceHandler = Callable[[AsyncSession, Interval], Awaitable[None]]
DeleteHandler = Callable[[AsyncSession, DeletedClock], Awaitable[None]]

_advance_handlers: list[tuple[Stage, AdvanceHandler]] = []
_delete_handlers: list[DeleteHandler] = []


def on_advance(handler: AdvanceHandler, *, stage: Stage) -> None:
    """Register ``handler`` for ``stage`` (once: registering it again changes nothing)."""
    if all(registered is not handler for _, registered in _advance_handlers):
        _advance_handlers.append((stage, handler))
        _advance_handlers.sort(key=lambda entry: entry[0])  # stable: registration order kept


def off_advance(handler: AdvanceHandler) -> None:
    """Unregister ``handler`` (tests register their own and remove it after)."""
    _advance_handlers[:] = [entry for entry in _advance_handlers if entry[1] is not handler]


def on_delete(handler: DeleteHandler) -> None:
    if handler not in _delete_handlers:
        _delete_handlers.append(handler)


def off_delete(handler: DeleteHandler) -> None:
    if handler in _delete_handlers:
        _delete_handlers.remove(handler)


async def _locked(session: AsyncSession, clock_id: str) -> TestClockRow | None:
    statement = select(TestClockRow).where(TestClockRow.id == clock_id).with_for_update()
    row: TestClockRow | None = (
        await session.execute(statement.execution_options(populate_existing=True))
    ).scalar_one_or_none()
    return row


def _advancing_to(row: TestClockRow | None, target: datetime) -> bool:
    return (
        row is not None
        and row.deleted_at is None
        and row.status == Status.advancing
        and row.target_frozen_time == target
    )


async def advance_clock(session: AsyncSession, clock_id: str, target: datetime) -> bool:
    """Runs the advance of ``clock_id`` to ``target`` in the caller's transaction; False when
    there is none to run (done already, deleted, or another advance)."""
    row = await _locked(session, clock_id)
    if row is None or not _advancing_to(row, target):
        return False
    invariant(target > row.frozen_time, "a clock only moves forward")
    interval = Interval(row.id, row.merchant_id, row.frozen_time, target)
    for _, handler in list(_advance_handlers):
        await handler(session, interval)
    row.frozen_time = target
    row.target_frozen_time = None
    row.status = Status.ready
    await session.flush()
    await events.record(session, row, TestClockEvent.ready)
    return True


async def fail_advance(session: AsyncSession, clock_id: str, target: datetime) -> bool:
    """The advance to ``target`` could not be completed: the clock stays at its old time,
    ``internal_failure`` (it may be advanced again)."""
    row = await _locked(session, clock_id)
    if row is None or not _advancing_to(row, target):
        return False
    row.status = Status.internal_failure
    row.target_frozen_time = None
    await session.flush()
    await events.record(session, row, TestClockEvent.internal_failure)
    return True


async def delete_clock(session: AsyncSession, row: TestClockRow) -> None:
    """Deletes the locked ``row`` with what is on it (each module's ``on_delete``)."""
    invariant(row.deleted_at is None, "a clock is deleted once")
    clock = DeletedClock(row.id, row.merchant_id)
    for handler in list(_delete_handlers):
        await handler(session, clock)
    # Stripe's test_helpers.test_clock.deleted carries the clock as it was.
    await events.record(session, row, TestClockEvent.deleted)
    row.deleted_at = utcnow()
    row.status = Status.ready if row.status == Status.advancing else row.status
    row.target_frozen_time = None
    await session.flush()


async def expired_clocks(session: AsyncSession, limit: int) -> list[str]:
    """Clocks past their ``deletes_after``, oldest first."""
    rows = await session.execute(
        select(TestClockRow.id)
        .where(TestClockRow.deleted_at.is_(None), TestClockRow.deletes_after <= utcnow())
        .order_by(TestClockRow.deletes_after)
        .limit(limit)
    )
    return list(rows.scalars())


async def delete_expired_clock(session: AsyncSession, clock_id: str) -> bool:
    row = await _locked(session, clock_id)
    if row is None or row.deleted_at is not None or row.deletes_after > utcnow():
        return False
    await delete_clock(session, row)
    return True
