"""The events bank accounts record (Stripe's names), and the one place that builds them. The
``bank_account`` object holds ``last4`` and the fingerprint, never the account number."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service
from beyondpay.settlement.bank_accounts.models import BankAccountRow
from beyondpay.settlement.bank_accounts.schemas import bank_account_object


class BankAccountEvent(StrEnum):
    created = "account.external_account.created"
    updated = "account.external_account.updated"
    deleted = "account.external_account.deleted"


async def record(
    session: AsyncSession,
    row: BankAccountRow,
    type: BankAccountEvent,
    *,
    object: dict[str, Any] | None = None,
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    """``type`` about ``row``, in the caller's transaction."""
    await event_service.record(
        session,
        merchant_id=row.merchant_id,
        livemode=row.livemode,
        type=type,
        object=object if object is not None else bank_account_object(row),
        previous_attributes=previous_attributes,
    )
