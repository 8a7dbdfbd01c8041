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
    """What a handler of :func:`on_setup_intent_event` hears: the event's type, the intent as
    it stands after the change, and the value of the metadata key the handler named."""

    type: SetupIntentEvent
    intent_id: str
    merchant_id: str
    livemode: bool
    status: str
    customer_id: str | None
    payment_method_id: str | None
    owner: str


SetupIntentHandler = Callable[[AsyncSession, SetupIntentChange], Awaitable[None]]
# Handlers by the metadata key that names the object an intent was made for
# (``checkout_session``: a Checkout Session in setup mode made it).
_handlers: dict[str, list[SetupIntentHandler]] = {}


def on_setup_intent_event(handler: SetupIntentHandler, *, metadata_key: str) -> None:
    """``handler`` hears the events of every SetupIntent whose metadata has ``metadata_key``
    (the module above that made it names itself there: SetupIntents have no owner column), in
    the transaction that records them; registering twice changes nothing. The handler looks the
    value up among its own objects: a merchant's own metadata under that key finds nothing."""
    handlers = _handlers.setdefault(metadata_key, [])
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
    for key, handlers in _handlers.items():
        owner = (row.metadata_ or {}).get(key)
        if owner is None:
            continue
        change = SetupIntentChange(
            type=type,
            intent_id=row.id,
            merchant_id=row.merchant_id,
            livemode=row.livemode,
            status=row.status,
            customer_id=row.customer_id,
            payment_method_id=row.payment_method_id,
            owner=str(owner),
        )
        for handler in handlers:
            await handler(session, change)
