"""The events credit notes record (Stripe's names)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.credit_notes.models import CreditNoteRow
from beyondpay.events.service import event_service


class CreditNoteEvent(StrEnum):
    created = "credit_note.created"
    updated = "credit_note.updated"
    voided = "credit_note.voided"


async def record(
    session: AsyncSession,
    note: CreditNoteRow,
    type: CreditNoteEvent,
    object: dict[str, Any],
    *,
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    """``type`` about ``note``, rendered by the caller as it stands now, in its transaction."""
    await event_service.record(
        session,
        merchant_id=note.merchant_id,
        livemode=note.livemode,
        type=type,
        object=object,
        previous_attributes=previous_attributes,
    )
