"""The events payment links record (Stripe's names), and the one place that records them. A
link's event carries its ``url``, as Stripe's does: the link is meant to be shared."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service
from beyondpay.payment_links.models import PaymentLinkRow
from beyondpay.payment_links.schemas import link_object


class PaymentLinkEvent(StrEnum):
    created = "payment_link.created"
    updated = "payment_link.updated"


async def record(
    session: AsyncSession,
    row: PaymentLinkRow,
    type: PaymentLinkEvent,
    url: str,
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    """``type`` about ``row``, rendered now, in the caller's transaction."""
    await event_service.record(
        session,
        merchant_id=row.merchant_id,
        livemode=row.livemode,
        type=type,
        object=link_object(row, url),
        previous_attributes=previous_attributes,
    )
