"""The events invoices record: their names (Stripe's), and the one place that records them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.invoices.models import InvoiceItemRow, InvoiceRow
from beyondpay.events.service import event_service


class InvoiceEvent(StrEnum):
    created = "invoice.created"
    updated = "invoice.updated"
    deleted = "invoice.deleted"
    finalized = "invoice.finalized"
    finalization_failed = "invoice.finalization_failed"
    sent = "invoice.sent"
    paid = "invoice.paid"
    payment_succeeded = "invoice.payment_succeeded"
    payment_failed = "invoice.payment_failed"
    payment_action_required = "invoice.payment_action_required"
    voided = "invoice.voided"
    marked_uncollectible = "invoice.marked_uncollectible"
    overdue = "invoice.overdue"
    # An invoice to come (a subscription's renewal, a retry), announced by dunning's pre-debit
    # notice before its charge: recorded by billing/subscriptions, with no invoice row for a
    # renewal not yet made.
    upcoming = "invoice.upcoming"


class InvoiceItemEvent(StrEnum):
    created = "invoiceitem.created"
    updated = "invoiceitem.updated"
    deleted = "invoiceitem.deleted"


InvoiceListener = Callable[[AsyncSession, InvoiceRow, InvoiceEvent], Awaitable[None]]
_listeners: list[InvoiceListener] = []


def on_invoice_event(listener: InvoiceListener) -> None:
    """Register ``listener`` to hear every invoice event in the transaction that records it
    (subscriptions follow their invoices: billing's parts above this one cannot be imported
    here). Registered by ``app.wire_modules``; registering twice changes nothing."""
    if listener not in _listeners:
        _listeners.append(listener)


async def record(
    session: AsyncSession,
    row: InvoiceRow | InvoiceItemRow,
    type: InvoiceEvent | InvoiceItemEvent,
    object: dict[str, Any],
    *,
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    """``type`` about ``row``, rendered by the caller as it stands now (an invoice's lines need
    the session), in the caller's transaction."""
    await event_service.record(
        session,
        merchant_id=row.merchant_id,
        livemode=row.livemode,
        type=type,
        object=object,
        previous_attributes=previous_attributes,
    )
    if isinstance(row, InvoiceRow) and isinstance(type, InvoiceEvent):
        for listener in _listeners:
            await listener(session, row, type)
