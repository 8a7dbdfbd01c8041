"""The events disputes record: their names (Stripe's), and the one place that records them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.disputes.models import DisputeRow
from beyondpay.events.service import event_service


class DisputeEvent(StrEnum):
    created = "charge.dispute.created"
    updated = "charge.dispute.updated"
    closed = "charge.dispute.closed"
    funds_withdrawn = "charge.dispute.funds_withdrawn"
    funds_reinstated = "charge.dispute.funds_reinstated"


async def record(
    session: AsyncSession, dispute: DisputeRow, type: DisputeEvent, object: dict[str, Any]
) -> None:
    """``type`` about ``dispute``, rendered by the caller as it stands now (its balance
    transactions need the session), in the caller's transaction."""
    await event_service.record(
        session,
        merchant_id=dispute.merchant_id,
        livemode=dispute.livemode,
        type=type,
        object=object,
    )
