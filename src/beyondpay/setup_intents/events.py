"""The events SetupIntents record: their names, the one place that builds their payload, and
who hears them in their transaction (:func:`on_setup_intent_event`, payments'
``on_intent_event`` idiom)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service
from beyondpay.setup_intents.models import SetupIntentRow
from beyondpay.setup_intents.schemas import setup_intent_object


class SetupIntentEvent(StrEnum):
    created = "setup_intent.created"
    requires_action = "setup_intent.requires_action"
    succeeded = "setup_intent.succeeded"
    setup_failed = "setup_intent.setup_failed"
    canceled = "setup_intent.canceled"


@dataclass(frozen=True, slots=True)
class SetupIntentChange:
    """What a handler of :func:`on_setup_intent_event` hears: the event's type and the intent
    as it stands after the change."""

    type: SetupIntentEvent
    intent_id: str
    merchant_id: str
    livemode: bool
    status: str
    customer_id: str | None
    payment_method_id: str | None
    owner: str


SetupIntentHandler = Callable[[AsyncSession, SetupIntentChange], Awaitable[None]]
# Handlers by the id prefix of the owners they hear (``cs_``: Checkout in setup mode).
_handlers: dict[str, list[SetupIntentHandler]] = {}


def on_setup_intent_event(handler: SetupIntentHandler, *, owner_prefix: str) -> None:
    """``handler`` hears the events of every SetupIntent whose ``owner`` (the object that made
    it: a Checkout Session) starts with ``owner_prefix``, in the transaction that records them
    (payments' ``on_intent_event`` idiom; registering twice changes nothing). An intent without
    an owner, the merchant's own, is heard by none."""
    handlers = _handlers.setdefault(owner_prefix, [])
    if handler not in handlers:
        handlers.append(handler)


def off_setup_intent_event(handler: SetupIntentHandler) -> None:
    for handlers in _handlers.values():
        if handler in handlers:
            handlers.remove(handler)


async def record(session: AsyncSession, row: SetupIntentRow, type: SetupIntentEvent) -> None:
    """``type`` about ``row``, rendered as its event shows it, in the caller's transaction;
    then heard by the handlers of :func:`on_setup_intent_event`."""
    await event_service.record(
        session,
        merchant_id=row.merchant_id,
        livemode=row.livemode,
        type=type,
        object=setup_intent_object(row, for_event=True),
    )
    owner = row.owner
    if owner is None:
        return
    for prefix, handlers in _handlers.items():
        if not owner.startswith(prefix):
            continue
        change = SetupIntentChange(
            type=type,
            intent_id=row.id,
            merchant_id=row.merchant_id,
            livemode=row.livemode,
            status=row.status,
            customer_id=row.customer_id,
            payment_method_id=row.payment_method_id,
            owner=owner,
        )
        for handler in handlers:
            await handler(session, change)
