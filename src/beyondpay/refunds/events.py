"""The events refunds record: their names, and the one place that builds their payload."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service
from beyondpay.refunds.models import RefundRow
from beyondpay.refunds.schemas import refund_object


class RefundEvent(StrEnum):
    created = "refund.created"
    updated = "refund.updated"
    failed = "refund.failed"


async def record(session: AsyncSession, refund: RefundRow, type: RefundEvent) -> None:
    """``type`` about ``refund``, in the caller's transaction."""
    await event_service.record(
        session,
        merchant_id=refund.merchant_id,
        livemode=refund.livemode,
        type=type,
        object=refund_object(refund),
    )
