"""The events PSP banking records: their names, and the one place that builds their payload.

Recorded in the payer's own scope, like identity's (``psp.identity.events``); their object is
the bank account's rendering, which holds no PIN, no full account number and no account
reference.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service
from beyondpay.psp.banking.models import BankAccountRow
from beyondpay.psp.banking.schemas import PinState, bank_account_object
from beyondpay.psp.identity.service import PSP_LIVEMODE


class BankingEvent(StrEnum):
    bank_account_linked = "psp.bank_account.linked"
    bank_account_updated = "psp.bank_account.updated"
    bank_account_unlinked = "psp.bank_account.unlinked"
    upi_pin_set = "psp.upi_pin.set"
    upi_pin_changed = "psp.upi_pin.changed"
    upi_pin_locked = "psp.upi_pin.locked"


async def record(
    session: AsyncSession,
    row: BankAccountRow,
    type: BankingEvent,
    pin: PinState,
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    """``type`` about the bank account ``row`` (with its PIN's state ``pin``), in the caller's
    transaction."""
    await event_service.record(
        session,
        merchant_id=row.payer_id,
        livemode=PSP_LIVEMODE,
        type=type,
        object=bank_account_object(row, pin),
        previous_attributes=previous_attributes,
    )
