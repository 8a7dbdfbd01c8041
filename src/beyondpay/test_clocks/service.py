"""Test clock use cases, in the caller's merchant and test mode only. Never commits.

Each change records its event in the same transaction: ``test_helpers.test_clock.created``,
``.advancing`` (with the advance's job deferred in that transaction, so the API answers at once
and a rollback asks for nothing), ``.ready`` or ``.internal_failure`` when the job is done
(``timeline``), ``.deleted``. A live-mode key gets :class:`TestModeOnlyError` from every use
case: test clocks exist in test mode only, as Stripe's.

Other modules reach clocks through :meth:`TestClockService.attachable` (a customer created on a
clock) and :meth:`TestClockService.frozen_time` (the time of the objects on it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db import jobs
from beyondpay.db.pagination import page, scoped
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.merchants.domain import Caller
from beyondpay.test_clocks import events, tasks, timeline
from beyondpay.test_clocks.domain import (
    ADVANCEABLE,
    ClockTime,
    Status,
    check_advance,
    deletes_after,
    moment,
    unix_s,
)
from beyondpay.test_clocks.errors import TestClockNotReadyError, TestModeOnlyError
from beyondpay.test_clocks.events import TestClockEvent
from beyondpay.test_clocks.models import TestClockRow
from beyondpay.test_clocks.schemas import (
    TestClockAdvanceParams,
    TestClockCreateParams,
    TestClockListParams,
)

CLOCKS_PER_MERCHANT_MAX: Final = 100  # Stripe's limit of live (undeleted) clocks per account
OBJECT: Final = "test clock"


def _test_mode_only(caller: Caller, param: str | None = None) -> None:
    if caller.livemode:
        raise TestModeOnlyError(param=param)


class TestClockService:
    __test__ = False  # not a pytest class, whatever its name

    async def create(
        self, session: AsyncSession, caller: Caller, params: TestClockCreateParams
    ) -> TestClockRow:
        _test_mode_only(caller)
        existing = (
            await session.execute(
                select(func.count())
                .select_from(TestClockRow)
                .where(
                    TestClockRow.merchant_id == caller.merchant,
                    TestClockRow.livemode.is_(False),
                    TestClockRow.deleted_at.is_(None),
                )
            )
        ).scalar_one()
        if existing >= CLOCKS_PER_MERCHANT_MAX:
            raise InvalidRequestError(
                f"You can have at most {CLOCKS_PER_MERCHANT_MAX} test clocks: delete one first.",
            )
        now = utcnow()
        row = TestClockRow(
            id=new_id("clock"),
            merchant_id=caller.merchant,
            livemode=False,
            name=params.name or None,
            frozen_time=moment(params.frozen_time),
            status=Status.ready,
            target_frozen_time=None,
            created_at=now,
            deletes_after=deletes_after(now),
            deleted_at=None,
        )
        session.add(row)
        await session.flush()
        await events.record(session, row, TestClockEvent.created)
        return row

    async def get(
        self,
        session: AsyncSession,
        caller: Caller,
        clock_id: str,
        *,
        for_update: bool = False,
        param: str | None = "id",
    ) -> TestClockRow:
        """The clock, deleted ones included; 404 outside the caller's scope."""
        _test_mode_only(caller, None if param == "id" else param)
        statement = scoped(
            TestClockRow, caller.merchant, caller.livemode, TestClockRow.id == clock_id
        )
        if for_update:
            statement = statement.with_for_update().execution_options(populate_existing=True)
        row: TestClockRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object(OBJECT, clock_id, param=param)
        return row

    async def advance(
        self,
        session: AsyncSession,
        caller: Caller,
        clock_id: str,
        params: TestClockAdvanceParams,
    ) -> TestClockRow:
        """Starts the advance: the clock answers ``advancing`` at once; the job runs what
        happened in the interval and makes it ``ready`` (``timeline.advance_clock``). The row
        lock makes two racing advances one: the second finds the clock advancing."""
        row = await self.get(session, caller, clock_id, for_update=True)
        if row.deleted_at is not None:
            raise ResourceMissingError.for_object(OBJECT, clock_id)
        if row.status not in ADVANCEABLE:
            raise TestClockNotReadyError()
        target = check_advance(row.frozen_time, params.frozen_time)
        row.status = Status.advancing
        row.target_frozen_time = target
        await session.flush()
        await events.record(session, row, TestClockEvent.advancing)
        await jobs.defer(session, tasks.advance, test_clock=row.id, frozen_time=unix_s(target))
        return row

    async def delete(self, session: AsyncSession, caller: Caller, clock_id: str) -> TestClockRow:
        """Deletes the clock and what is on it (its customers), as Stripe does."""
        row = await self.get(session, caller, clock_id, for_update=True)
        if row.deleted_at is not None:
            raise ResourceMissingError.for_object(OBJECT, clock_id)
        await timeline.delete_clock(session, row)
        return row

    async def list(
        self, session: AsyncSession, caller: Caller, params: TestClockListParams
    ) -> tuple[Sequence[TestClockRow], bool]:
        _test_mode_only(caller)
        merchant_id, livemode = caller.merchant, caller.livemode
        statement = scoped(TestClockRow, merchant_id, livemode, TestClockRow.deleted_at.is_(None))

        def cursor_exists(cursor: str) -> Any:
            return scoped(TestClockRow, merchant_id, livemode, TestClockRow.id == cursor)

        return await page(
            session,
            statement,
            TestClockRow.id,
            params,
            cursor_exists=cursor_exists,
            object_name=OBJECT,
        )

    async def attachable(self, session: AsyncSession, caller: Caller, clock_id: str) -> ClockTime:
        """The clock a new object attaches to, locked until the caller's transaction ends (a
        concurrent advance or deletion waits for it): ``test_clock`` names it in every refusal
        (live mode, unknown, deleted, advancing)."""
        row = await self.get(session, caller, clock_id, for_update=True, param="test_clock")
        if row.deleted_at is not None:
            raise ResourceMissingError.for_object(OBJECT, clock_id, param="test_clock")
        if row.status == Status.advancing:
            raise TestClockNotReadyError(param="test_clock")
        return ClockTime(row.id, row.frozen_time)

    async def frozen_time(self, session: AsyncSession, clock_id: str) -> ClockTime | None:
        """The time of the objects on ``clock_id`` (None once it is deleted)."""
        frozen: datetime | None = (
            await session.execute(
                select(TestClockRow.frozen_time).where(
                    TestClockRow.id == clock_id, TestClockRow.deleted_at.is_(None)
                )
            )
        ).scalar_one_or_none()
        return None if frozen is None else ClockTime(clock_id, frozen)


test_clock_service = TestClockService()
