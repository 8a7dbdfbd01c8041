"""The events settlement windows record, and the one place that records them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service


class SettlementWindowEvent(StrEnum):
    # A window closed at (or, after a worker was down, late past) its cut-off, with its totals.
    closed = "settlement_window.closed"
    # A merchant chose another speed or other T+0 cut-offs.
    schedule_updated = "settlement_schedule.updated"


async def record(
    session: AsyncSession,
    *,
    merchant_id: str,
    livemode: bool,
    type: SettlementWindowEvent,
    object: dict[str, Any],
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    """``type`` about ``object`` (already rendered), in the caller's transaction."""
    await event_service.record(
        session,
        merchant_id=merchant_id,
        livemode=livemode,
        type=type,
        object=object,
        previous_attributes=previous_attributes,
    )
