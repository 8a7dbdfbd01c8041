"""What every use case of invoices shares: reading and locking rows, the time of an invoice (its
customer's test clock's, or the wall clock's), a draft's totals, and the caller billing acts as
when it reaches payments on the merchant's behalf (a job, a clock's advance, the hosted page).

Locks are always taken in one order: an invoice's PaymentIntent before the invoice (payments
locks the intent and then tells invoices of its outcome, in the same transaction: see
``collection``), an invoice before its items.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.invoices.discounting import terms_of
from beyondpay.billing.invoices.domain import (
    LINES_EMBEDDED_MAX,
    Action,
    DiscountLine,
    Status,
    UnexpectedStateError,
    invoice_taxes,
    line_discounts,
    next_status,
    totals,
)
from beyondpay.billing.invoices.errors import InvoiceNotEditableError, InvoiceUnexpectedStateError
from beyondpay.billing.invoices.models import InvoiceItemRow, InvoiceRow
from beyondpay.billing.invoices.taxing import gst_facts, taxes_of_line
from beyondpay.db.pagination import scoped
from beyondpay.db.phases import STARTED
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.kit.invariants import invariant
from beyondpay.merchants.domain import Caller, KeyKind
from beyondpay.test_clocks.service import test_clock_service

OBJECT: Final = "invoice"
ITEM_OBJECT: Final = "invoiceitem"
# The key id of the caller billing acts as on the merchant's behalf (never an API key's).
ACTING_KEY_ID: Final = "billing"


def acting_for(merchant_id: str, livemode: bool) -> Caller:
    """The merchant, as billing reaches payments for it: scoped to its own objects in one
    mode, like its secret key."""
    return Caller(
        key_id=ACTING_KEY_ID,
        kind=KeyKind.secret,
        livemode=livemode,
        merchant_id=merchant_id,
        merchant_status=None,
    )


class NoRecoveryPoint:
    """The phases of a PaymentIntent made without confirming it: nothing is asked of a rail, so
    no recovery point is ever taken."""

    recovery_point = STARTED

    async def checkpoint(self, recovery_point: str) -> None:
        invariant(False, "a PaymentIntent made unconfirmed asks no rail")


async def find(
    session: AsyncSession,
    caller: Caller,
    invoice_id: str,
    *,
    for_update: bool = False,
    param: str | None = None,
) -> InvoiceRow:
    statement = scoped(InvoiceRow, caller.merchant, caller.livemode, InvoiceRow.id == invoice_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    row: InvoiceRow | None = (await session.execute(statement)).scalar_one_or_none()
    if row is None:
        raise ResourceMissingError.for_object(OBJECT, invoice_id, param=param)
    return row


async def lock(session: AsyncSession, invoice_id: str) -> InvoiceRow | None:
    # populate_existing: the session may hold the row as it was before a recovery point.
    row: InvoiceRow | None = (
        await session.execute(
            select(InvoiceRow)
            .where(InvoiceRow.id == invoice_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    return row


async def lock_by_intent(session: AsyncSession, intent_id: str) -> InvoiceRow | None:
    row: InvoiceRow | None = (
        await session.execute(
            select(InvoiceRow)
            .where(InvoiceRow.payment_intent_id == intent_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).scalar_one_or_none()
    return row


async def find_item(
    session: AsyncSession, caller: Caller, item_id: str, *, for_update: bool = False
) -> InvoiceItemRow:
    statement = scoped(
        InvoiceItemRow, caller.merchant, caller.livemode, InvoiceItemRow.id == item_id
    )
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    row: InvoiceItemRow | None = (await session.execute(statement)).scalar_one_or_none()
    if row is None:
        raise ResourceMissingError.for_object(ITEM_OBJECT, item_id)
    return row


async def lines_of(
    session: AsyncSession, invoice_id: str, limit: int | None = None
) -> Sequence[InvoiceItemRow]:
    """The invoice's lines in the order they were added."""
    statement = (
        select(InvoiceItemRow)
        .where(InvoiceItemRow.invoice_id == invoice_id)
        .order_by(InvoiceItemRow.line_position)
    )
    if limit is not None:
        statement = statement.limit(limit)
    return list((await session.execute(statement)).scalars())


async def line_count(session: AsyncSession, invoice_id: str) -> int:
    counted = await session.execute(
        select(func.count())
        .select_from(InvoiceItemRow)
        .where(InvoiceItemRow.invoice_id == invoice_id)
    )
    return int(counted.scalar_one())


async def next_position(session: AsyncSession, invoice_id: str) -> int:
    """The place of a line added now to the (locked) invoice: after its last."""
    last = await session.execute(
        select(func.max(InvoiceItemRow.line_position)).where(
            InvoiceItemRow.invoice_id == invoice_id
        )
    )
    return int(last.scalar_one() or 0) + 1


async def embedded_lines(
    session: AsyncSession, invoice_id: str
) -> tuple[Sequence[InvoiceItemRow], int]:
    """The first lines an invoice object embeds, and how many it has."""
    return await lines_of(session, invoice_id, LINES_EMBEDDED_MAX), await line_count(
        session, invoice_id
    )


async def recompute(session: AsyncSession, invoice: InvoiceRow) -> None:
    """A draft's GST facts, its lines' taxes and its totals, after any of its lines or tax
    settings changed, and at finalization (the draft is locked)."""
    invariant(invoice.status == Status.draft, "only a draft's lines change")
    await session.flush()
    invoice.gst = await gst_facts(
        session, acting_for(invoice.merchant_id, invoice.livemode), invoice
    )
    lines = await lines_of(session, invoice.id)
    off = line_discounts(
        [DiscountLine(line.amount, line.discountable, line.product_id) for line in lines],
        [(entry["id"], terms_of(entry["terms"])) for entry in invoice.discounts],
        invoice.currency,
    )
    by_line = []
    for line, taken in zip(lines, off, strict=True):
        line.discount_amounts = [{"discount": id, "amount": amount} for id, amount in taken]
        taxes = taxes_of_line(line, invoice, line.amount - sum(amount for _, amount in taken))
        line.taxes = [tax.stored() for tax in taxes]
        by_line.append(taxes)
    discount = sum(amount for taken in off for _, amount in taken)
    figures = totals([line.amount for line in lines], invoice_taxes(by_line), discount)
    invoice.subtotal = figures.subtotal
    invoice.total = figures.total
    invoice.amount_due = figures.amount_due


async def now_for(session: AsyncSession, invoice: InvoiceRow | InvoiceItemRow) -> datetime:
    """The time of an invoice or an item: its customer's test clock's, or now."""
    if invoice.test_clock is None or invoice.livemode:
        return utcnow()
    clock = await test_clock_service.frozen_time(session, invoice.test_clock)
    # A deleted clock's customers are deleted with it; what is left of theirs runs in real time.
    return clock.frozen_time if clock is not None else utcnow()


def transition(invoice: InvoiceRow, action: Action) -> Status:
    """The status ``action`` leads the invoice to, or Stripe's refusal naming why."""
    try:
        return next_status(Status(invoice.status), action)
    except UnexpectedStateError as error:
        if action in (Action.edit, Action.edit_finalized):
            raise InvoiceNotEditableError(
                f"This invoice is no longer editable: its status is {invoice.status}. Only a"
                " draft's lines, amounts and details may change.",
            ) from None
        allowed = ", ".join(str(status) for status in error.allowed)
        verb = str(action).replace("_", " ")
        raise InvoiceUnexpectedStateError(
            f"You cannot {verb} this invoice because its status is {invoice.status}."
            f" It must be one of: {allowed}.",
        ) from None


async def next_in_year(
    session: AsyncSession, counter: Any, merchant_id: str, livemode: bool, financial_year: int
) -> int:
    """The next number of a GST series (invoices', credit notes': ``counter`` is its table,
    keyed by merchant, mode and financial year), taken in the caller's transaction: the row
    upserted and locked until commit, so numbers are consecutive and never given twice."""
    taken = await session.execute(
        insert(counter)
        .values(
            merchant_id=merchant_id,
            livemode=livemode,
            financial_year=financial_year,
            last_number=1,
        )
        .on_conflict_do_update(
            index_elements=[counter.merchant_id, counter.livemode, counter.financial_year],
            set_={"last_number": counter.last_number + 1},
        )
        .returning(counter.last_number)
    )
    return int(taken.scalar_one())
