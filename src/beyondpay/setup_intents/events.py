"""The events SetupIntents record: their names, and the one place that builds their payload."""

from __future__ import annotations

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


async def record(session: AsyncSession, row: SetupIntentRow, type: SetupIntentEvent) -> None:
    """``type`` about ``row``, rendered as its event shows it, in the caller's transaction."""
    await event_service.record(
        session,
        merchant_id=row.merchant_id,
        livemode=row.livemode,
        type=type,
        object=setup_intent_object(row, for_event=True),
    )
