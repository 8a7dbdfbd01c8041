"""The events customers record: their names, and the one place that builds their payload."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.customers.models import CustomerRow
from beyondpay.customers.schemas import customer_object
from beyondpay.events.service import event_service


class CustomerEvent(StrEnum):
    created = "customer.created"
    updated = "customer.updated"
    deleted = "customer.deleted"


async def record(
    session: AsyncSession,
    row: CustomerRow,
    type: CustomerEvent,
    *,
    object: dict[str, Any] | None = None,
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    """``type`` about ``row`` (rendered now, unless the caller rendered it already), in the
    caller's transaction."""
    await event_service.record(
        session,
        merchant_id=row.merchant_id,
        livemode=row.livemode,
        type=type,
        object=object if object is not None else customer_object(row),
        previous_attributes=previous_attributes,
    )
