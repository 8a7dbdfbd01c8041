"""The events payments record: their names, and the one place that builds their payload.

Modules above payments that care what happens to an intent (an invoice is paid when its
PaymentIntent succeeds) register a handler with :func:`on_intent_event` from the composition
root (``app.wire_modules``); it hears each intent event in the transaction that records it, so
their change commits with the payment's, or neither does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

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


@dataclass(frozen=True, slots=True)
class IntentChange:
    """What a handler of :func:`on_intent_event` hears: the event's type and the intent as it
    stands after the change."""

    type: PaymentIntentEvent
    intent_id: str
    merchant_id: str
    livemode: bool
    status: str
    amount_received: int
    currency: str
    latest_charge_id: str | None
    last_payment_error: dict[str, Any] | None
    next_action: dict[str, Any] | None


IntentHandler = Callable[[AsyncSession, IntentChange], Awaitable[None]]
_intent_handlers: list[IntentHandler] = []


def on_intent_event(handler: IntentHandler) -> None:
    """``handler`` hears every payment intent event, in the transaction that records it
    (registering twice changes nothing)."""
    if handler not in _intent_handlers:
        _intent_handlers.append(handler)


def off_intent_event(handler: IntentHandler) -> None:
    if handler in _intent_handlers:
        _intent_handlers.remove(handler)


async def record(
    session: AsyncSession,
    row: PaymentIntentRow | ChargeRow,
    type: PaymentIntentEvent | ChargeEvent,
) -> None:
    """``type`` about ``row``, rendered as its event shows it, in the caller's transaction;
    an intent's event is then heard by the handlers of :func:`on_intent_event`."""
    rendered = (
        payment_intent_object(row, for_event=True)
        if isinstance(row, PaymentIntentRow)
        else charge_object(row)
    )
    await event_service.record(
        session, merchant_id=row.merchant_id, livemode=row.livemode, type=type, object=rendered
    )
    if isinstance(row, PaymentIntentRow) and isinstance(type, PaymentIntentEvent):
        change = IntentChange(
            type=type,
            intent_id=row.id,
            merchant_id=row.merchant_id,
            livemode=row.livemode,
            status=row.status,
            amount_received=row.amount_received,
            currency=row.currency,
            latest_charge_id=row.latest_charge_id,
            last_payment_error=row.last_payment_error,
            next_action=row.next_action,
        )
        for handler in _intent_handlers:
            await handler(session, change)
