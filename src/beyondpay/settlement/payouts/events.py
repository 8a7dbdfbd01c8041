"""The events payouts record: their names, and the one place that builds their payload."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service
from beyondpay.settlement.payouts.models import PayoutRow
from beyondpay.settlement.payouts.schemas import payout_object


class PayoutEvent(StrEnum):
    created = "payout.created"
    updated = "payout.updated"
    paid = "payout.paid"
    failed = "payout.failed"
    canceled = "payout.canceled"


async def record(
    session: AsyncSession,
    payout: PayoutRow,
    type: PayoutEvent,
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    """``type`` about ``payout``, in the caller's transaction."""
    await event_service.record(
        session,
        merchant_id=payout.merchant_id,
        livemode=payout.livemode,
        type=type,
        object=payout_object(payout),
        previous_attributes=previous_attributes,
    )
