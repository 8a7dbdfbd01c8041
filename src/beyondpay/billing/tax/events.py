"""The events tax rates and tax ids record: their names, and the one place that records them.

Stripe's names where Stripe has the event (``tax_rate.*``, ``customer.tax_id.*``). Stripe
records no event for an account's own tax ids; here every change does, so the merchant's own
(``owner[type]=self``) are ``tax_id.created`` and ``tax_id.deleted``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.tax.models import TaxIdRow, TaxRateRow
from beyondpay.billing.tax.schemas import tax_id_object, tax_rate_object
from beyondpay.events.service import event_service


class TaxRateEvent(StrEnum):
    created = "tax_rate.created"
    updated = "tax_rate.updated"


class TaxIdEvent(StrEnum):
    customer_created = "customer.tax_id.created"
    customer_deleted = "customer.tax_id.deleted"
    own_created = "tax_id.created"
    own_deleted = "tax_id.deleted"


async def record_tax_rate(
    session: AsyncSession,
    row: TaxRateRow,
    type: TaxRateEvent,
    *,
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    """``type`` about ``row``, rendered now, in the caller's transaction."""
    await event_service.record(
        session,
        merchant_id=row.merchant_id,
        livemode=row.livemode,
        type=type,
        object=tax_rate_object(row),
        previous_attributes=previous_attributes,
    )


async def record_tax_id(session: AsyncSession, row: TaxIdRow, *, deleted: bool) -> None:
    """A tax id added or deleted: the customer's event, or the merchant's own. A deletion's
    event carries the tax id as it was, as Stripe's ``customer.tax_id.deleted`` does."""
    if row.owner_type == "customer":
        type = TaxIdEvent.customer_deleted if deleted else TaxIdEvent.customer_created
    else:
        type = TaxIdEvent.own_deleted if deleted else TaxIdEvent.own_created
    await event_service.record(
        session,
        merchant_id=row.merchant_id,
        livemode=row.livemode,
        type=type,
        object=tax_id_object(row),
    )
