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
    owner: str


IntentHandler = Callable[[AsyncSession, IntentChange], Awaitable[None]]
# Handlers by the id prefix of the owners they hear (``in_``: invoices, ``cs_``: Checkout).
_intent_handlers: dict[str, list[IntentHandler]] = {}


def on_intent_event(handler: IntentHandler, *, owner_prefix: str) -> None:
    """``handler`` hears the events of every PaymentIntent whose ``owner`` (the object that
    made it: an invoice, a Checkout Session) starts with ``owner_prefix``, in the transaction
    that records them (registering twice changes nothing). An intent without an owner, a plain
    payment, is heard by none: nothing is looked up on its path."""
    handlers = _intent_handlers.setdefault(owner_prefix, [])
    if handler not in handlers:
        handlers.append(handler)


def off_intent_event(handler: IntentHandler) -> None:
    for handlers in _intent_handlers.values():
        if handler in handlers:
            handlers.remove(handler)


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
    if (
        isinstance(row, PaymentIntentRow)
        and isinstance(type, PaymentIntentEvent)
        and row.owner is not None
    ):
        owner = row.owner
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
            owner=owner,
        )
        for prefix, handlers in _intent_handlers.items():
            if owner.startswith(prefix):
                for handler in handlers:
                    await handler(session, change)
