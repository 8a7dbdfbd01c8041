"""The events Connect records (Stripe's names), and the one place that builds them. They are on
the platform's stream: the transfer is the platform's object."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.connect.models import ApplicationFeeRow, TransferRow
from beyondpay.events.service import event_service


class ConnectTransferEvent(StrEnum):
    created = "transfer.created"
    updated = "transfer.updated"
    reversed = "transfer.reversed"


class ApplicationFeeEvent(StrEnum):
    created = "application_fee.created"
    refunded = "application_fee.refunded"
    refund_updated = "application_fee.refund.updated"


async def record(
    session: AsyncSession,
    row: TransferRow | ApplicationFeeRow,
    type: ConnectTransferEvent | ApplicationFeeEvent,
    object: dict[str, Any],
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    """``type`` about ``row`` (rendered as ``object``), in the caller's transaction."""
    await event_service.record(
        session,
        merchant_id=row.merchant_id,
        livemode=row.livemode,
        type=type,
        object=object,
        previous_attributes=previous_attributes,
    )
