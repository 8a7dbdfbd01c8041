"""The events webhooks record: their names, and the one place that builds their payload."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service
from beyondpay.webhooks.models import WebhookEndpointRow
from beyondpay.webhooks.schemas import webhook_endpoint_object


class WebhookEndpointEvent(StrEnum):
    # Deliveries failed for long enough that the endpoint was turned off (deliveries.py).
    disabled = "webhook_endpoint.disabled"


async def record(
    session: AsyncSession, endpoint: WebhookEndpointRow, type: WebhookEndpointEvent
) -> None:
    """``type`` about ``endpoint``, rendered now (never with its secret), in the caller's
    transaction."""
    await event_service.record(
        session,
        merchant_id=endpoint.merchant_id,
        livemode=endpoint.livemode,
        type=type,
        object=webhook_endpoint_object(endpoint),
    )
