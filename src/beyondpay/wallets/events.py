"""The events the merchant ledger records: their names, and the one place that records them.

Each carries the object as the API renders it in the merchant's namespace (ids as the merchant
chose them)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service
from beyondpay.wallets.domain import Namespace


class WalletEvent(StrEnum):
    account_created = "ledger_account.created"
    transfer_created = "ledger_transfer.created"


async def record(
    session: AsyncSession, namespace: Namespace, type: WalletEvent, object: dict[str, Any]
) -> None:
    """``type`` about ``object`` (rendered by the caller, in ``namespace``), in the caller's
    transaction."""
    await event_service.record(
        session,
        merchant_id=namespace.merchant_id,
        livemode=namespace.livemode,
        type=type,
        object=object,
    )
