"""The events test clocks record: their names, and the one place that builds their payload."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service
from beyondpay.test_clocks.models import TestClockRow
from beyondpay.test_clocks.schemas import test_clock_object


class TestClockEvent(StrEnum):
    __test__ = False  # not a pytest class, whatever its name

    created = "test_helpers.test_clock.created"
    advancing = "test_helpers.test_clock.advancing"
    ready = "test_helpers.test_clock.ready"
    internal_failure = "test_helpers.test_clock.internal_failure"
    deleted = "test_helpers.test_clock.deleted"


async def record(session: AsyncSession, row: TestClockRow, type: TestClockEvent) -> None:
    """``type`` about ``row`` (rendered now), in the caller's transaction."""
    await event_service.record(
        session,
        merchant_id=row.merchant_id,
        livemode=row.livemode,
        type=type,
        object=test_clock_object(row),
    )
