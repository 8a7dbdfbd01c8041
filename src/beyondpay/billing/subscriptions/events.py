"""The events subscriptions record: their names (Stripe's), and the one place that records them."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.subscriptions.models import SubscriptionRow
from beyondpay.events.service import event_service


class SubscriptionEvent(StrEnum):
    created = "customer.subscription.created"
    updated = "customer.subscription.updated"
    deleted = "customer.subscription.deleted"
    trial_will_end = "customer.subscription.trial_will_end"
    paused = "customer.subscription.paused"
    resumed = "customer.subscription.resumed"
    pending_update_applied = "customer.subscription.pending_update_applied"


async def record(
    session: AsyncSession,
    row: SubscriptionRow,
    type: SubscriptionEvent,
    object: dict[str, Any],
    *,
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    await event_service.record(
        session,
        merchant_id=row.merchant_id,
        livemode=row.livemode,
        type=type,
        object=object,
        previous_attributes=previous_attributes,
    )
