"""The events payment methods record: their names, and the one place that builds their payload
(the redacted rendering, as every answer)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service
from beyondpay.payment_methods.models import PaymentMethodRow
from beyondpay.payment_methods.schemas import payment_method_object


class PaymentMethodEvent(StrEnum):
    attached = "payment_method.attached"
    detached = "payment_method.detached"
    updated = "payment_method.updated"


async def record(
    session: AsyncSession,
    row: PaymentMethodRow,
    type: PaymentMethodEvent,
    *,
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    """``type`` about ``row``, rendered now, in the caller's transaction."""
    await event_service.record(
        session,
        merchant_id=row.merchant_id,
        livemode=row.livemode,
        type=type,
        object=payment_method_object(row),
        previous_attributes=previous_attributes,
    )
