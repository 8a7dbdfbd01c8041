"""The events payments record: their names, and the one place that builds their payload."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service
from beyondpay.payments.models import ChargeRow, PaymentIntentRow
from beyondpay.payments.schemas import charge_object, payment_intent_object


class PaymentIntentEvent(StrEnum):
    created = "payment_intent.created"
    requires_action = "payment_intent.requires_action"
    processing = "payment_intent.processing"
    amount_capturable_updated = "payment_intent.amount_capturable_updated"
    succeeded = "payment_intent.succeeded"
    payment_failed = "payment_intent.payment_failed"
    canceled = "payment_intent.canceled"


class ChargeEvent(StrEnum):
    succeeded = "charge.succeeded"
    failed = "charge.failed"
    captured = "charge.captured"
    updated = "charge.updated"
    refunded = "charge.refunded"


async def record(
    session: AsyncSession,
    row: PaymentIntentRow | ChargeRow,
    type: PaymentIntentEvent | ChargeEvent,
) -> None:
    """``type`` about ``row``, rendered as its event shows it, in the caller's transaction."""
    rendered = (
        payment_intent_object(row, for_event=True)
        if isinstance(row, PaymentIntentRow)
        else charge_object(row)
    )
    await event_service.record(
        session, merchant_id=row.merchant_id, livemode=row.livemode, type=type, object=rendered
    )
