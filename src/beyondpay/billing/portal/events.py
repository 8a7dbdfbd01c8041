"""The events the customer portal records: their names (Stripe's), and the one place that
records them. What a customer does in the portal records the events of the objects it changes
(``payment_method.attached``, ``customer.updated``, ``setup_intent.succeeded``, …), written by
their own modules."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.portal.models import PortalConfigurationRow, PortalSessionRow
from beyondpay.billing.portal.schemas import configuration_object, session_object
from beyondpay.events.service import event_service


class PortalEvent(StrEnum):
    configuration_created = "billing_portal.configuration.created"
    configuration_updated = "billing_portal.configuration.updated"
    session_created = "billing_portal.session.created"


async def record(
    session: AsyncSession,
    row: PortalConfigurationRow | PortalSessionRow,
    type: PortalEvent,
    *,
    previous_attributes: dict[str, object] | None = None,
) -> None:
    """``type`` about ``row``, rendered now, in the caller's transaction. A session's event
    carries no ``url``: the link is a credential, and events are read by many (webhooks, keys
    with ``events:read``)."""
    rendered = (
        configuration_object(row)
        if isinstance(row, PortalConfigurationRow)
        else session_object(row, url=None)
    )
    await event_service.record(
        session,
        merchant_id=row.merchant_id,
        livemode=row.livemode,
        type=type,
        object=rendered,
        previous_attributes=previous_attributes,
    )
