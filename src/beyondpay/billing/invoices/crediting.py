"""What a credit note (``billing.credit_notes``, the part above) does to its invoice. Never
commits.

- **Before payment** (an open or uncollectible invoice): the credit note's total comes off
  ``amount_due`` (``pre_payment_credit_notes_amount``), and the invoice's PaymentIntent is
  updated to the new amount, so what the customer is charged is what is due; an invoice left
  with nothing due is paid at once (its intent canceled), as Stripe marks it.
- **After payment** (a paid invoice): ``post_payment_credit_notes_amount`` grows; the money
  goes back by the credit note's refund, credit to the balance or out of band.
- A voided credit note gives it back (before payment only: what went back after payment is
  not taken back).

**Locks**: the PaymentIntent, then the invoice (the order payments' outcomes take them in),
then, in the credit note part, its customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.invoices import lifecycle
from beyondpay.billing.invoices.domain import Status
from beyondpay.billing.invoices.events import InvoiceEvent
from beyondpay.billing.invoices.models import InvoiceItemRow, InvoiceRow
from beyondpay.billing.invoices.rendering import announce
from beyondpay.billing.invoices.settings import CONFIG
from beyondpay.billing.invoices.store import find, lines_of, now_for
from beyondpay.kit.clock import utcnow
from beyondpay.kit.invariants import invariant
from beyondpay.merchants.domain import Caller
from beyondpay.payments.schemas import PaymentIntentCancelParams, PaymentIntentUpdateParams
from beyondpay.payments.service import payment_intent_service

UNPAID: Final = frozenset({Status.open, Status.uncollectible})
CREDITABLE: Final = UNPAID | {Status.paid}


async def lock_for_credit(
    session: AsyncSession, caller: Caller, invoice_id: str, *, param: str = "invoice"
) -> InvoiceRow:
    """The invoice a credit note is for, locked after its PaymentIntent: credit notes of one
    invoice are made one at a time, each seeing those before it."""
    found = await to_credit(session, caller, invoice_id, param=param)
    if found.payment_intent_id is not None and found.status in UNPAID:
        await payment_intent_service.get(session, caller, found.payment_intent_id, for_update=True)
    return await find(session, caller, invoice_id, for_update=True, param=param)


async def to_credit(
    session: AsyncSession, caller: Caller, invoice_id: str, *, param: str = "invoice"
) -> InvoiceRow:
    """The invoice a credit note would be for, unlocked (a preview)."""
    return await find(session, caller, invoice_id, param=param)


async def lines(session: AsyncSession, invoice_id: str) -> Sequence[InvoiceItemRow]:
    return await lines_of(session, invoice_id)


async def _set_intent_amount(session: AsyncSession, caller: Caller, invoice: InvoiceRow) -> None:
    if invoice.payment_intent_id is None:
        return
    if invoice.amount_due == 0:
        await payment_intent_service.cancel(
            session,
            caller,
            invoice.payment_intent_id,
            PaymentIntentCancelParams(cancellation_reason="abandoned", expand=[]),
            owner=invoice.id,
        )
        return
    await payment_intent_service.update(
        session,
        caller,
        CONFIG.current().ring,
        invoice.payment_intent_id,
        PaymentIntentUpdateParams(amount=invoice.amount_due, expand=[]),
        owner=invoice.id,
    )


async def credit(session: AsyncSession, caller: Caller, invoice: InvoiceRow, amount: int) -> None:
    """A credit note of ``amount`` issued against the locked invoice."""
    invariant(amount > 0, "a credit note credits something")
    previous = {
        "amount_due": invoice.amount_due,
        "pre_payment_credit_notes_amount": invoice.pre_payment_credit_notes_amount,
        "post_payment_credit_notes_amount": invoice.post_payment_credit_notes_amount,
    }
    invoice.updated_at = utcnow()
    if invoice.status == Status.paid:
        invoice.post_payment_credit_notes_amount += amount
        await announce(session, invoice, InvoiceEvent.updated, previous_attributes=previous)
        return
    invariant(invoice.status in UNPAID, "only an open or paid invoice is credited")
    invariant(amount <= invoice.amount_due, "a credit before payment is within what is due")
    invoice.pre_payment_credit_notes_amount += amount
    invoice.amount_due -= amount
    await _set_intent_amount(session, caller, invoice)
    await announce(session, invoice, InvoiceEvent.updated, previous_attributes=previous)
    if invoice.amount_due == 0:
        await lifecycle.settle(session, invoice, 0, await now_for(session, invoice))


async def uncredit(
    session: AsyncSession, caller: Caller, invoice: InvoiceRow, amount: int, *, pre_payment: bool
) -> None:
    """A credit note of ``amount`` against the locked invoice voided."""
    previous = {
        "amount_due": invoice.amount_due,
        "pre_payment_credit_notes_amount": invoice.pre_payment_credit_notes_amount,
        "post_payment_credit_notes_amount": invoice.post_payment_credit_notes_amount,
    }
    invoice.updated_at = utcnow()
    if pre_payment:
        invariant(invoice.status in UNPAID, "a pre-payment credit is voided on an unpaid invoice")
        invoice.pre_payment_credit_notes_amount -= amount
        invoice.amount_due += amount
        await _set_intent_amount(session, caller, invoice)
    else:
        invoice.post_payment_credit_notes_amount -= amount
    invariant(
        invoice.pre_payment_credit_notes_amount >= 0
        and invoice.post_payment_credit_notes_amount >= 0,
        "an invoice's credit note amounts are the sum of its credit notes",
    )
    await announce(session, invoice, InvoiceEvent.updated, previous_attributes=previous)


async def moment_of(session: AsyncSession, invoice: InvoiceRow) -> datetime:
    """The time of the invoice's customer (their test clock's, or now): a credit note's."""
    return await now_for(session, invoice)
