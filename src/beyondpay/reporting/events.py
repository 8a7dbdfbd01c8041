"""The events report runs record, and the one place that records them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service


class ReportRunEvent(StrEnum):
    # A report run's job wrote its result file.
    succeeded = "reporting.report_run.succeeded"
    # A report run's job could not compute it (``error`` says why).
    failed = "reporting.report_run.failed"


async def record(
    session: AsyncSession,
    *,
    merchant_id: str,
    livemode: bool,
    type: ReportRunEvent,
    object: dict[str, Any],
) -> None:
    """``type`` about ``object`` (already rendered), in the caller's transaction."""
    await event_service.record(
        session, merchant_id=merchant_id, livemode=livemode, type=type, object=object
    )
