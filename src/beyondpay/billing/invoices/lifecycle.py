"""An invoice's moves that several use cases make: its finalization (number, PaymentIntent,
timers), what follows it when the invoice advances by itself (collection or the email), its
sending, its settlement as paid, and the jobs that make its timers run.

**Numbering.** A number is taken at finalization from the merchant's counter for the mode and
the Indian financial year of the finalization's moment, in the finalization's own transaction:
the counter's row is locked until that transaction ends, so numbers are consecutive, and one
that rolls back gives its number back (no gap). Only that merchant's finalizations in that mode
and year ever wait on the row.

**Timers.** An auto-advancing draft's finalization and an open send_invoice invoice's due date
are jobs deferred in the transaction that sets the time (``tasks``), for invoices in real time;
an invoice whose customer is on a test clock is moved by the clock's advances instead
(``timers.advance_invoices_on_clock``). Every job checks the time and the status again: run
twice, or late, or after the time changed, it does what is due once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.invoices import discounting, tasks
from beyondpay.billing.invoices.balance import customer_balance_service
from beyondpay.billing.invoices.domain import (
    NUMBER_PREFIX_DEFAULT,
    Action,
    CollectionMethod,
    Status,
)
from beyondpay.billing.invoices.errors import (
    InvoiceNumberExhaustedError,
)
from beyondpay.billing.invoices.events import InvoiceEvent
from beyondpay.billing.invoices.models import (
    InvoiceNumberCounterRow,
    InvoiceRow,
    InvoiceSettingsRow,
)
from beyondpay.billing.invoices.rendering import announce
from beyondpay.billing.invoices.settings import CONFIG
from beyondpay.billing.invoices.store import (
    NoRecoveryPoint,
    acting_for,
    lock,
    next_in_year,
    now_for,
    recompute,
    transition,
)
from beyondpay.billing.tax.domain import InvoiceNumberError, financial_year_at, invoice_number
from beyondpay.customers.service import customer_service
from beyondpay.db import jobs
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError
from beyondpay.kit.invariants import invariant
from beyondpay.merchants.service import merchant_service
from beyondpay.notifications.service import Kind, notification_service
from beyondpay.payments.schemas import PaymentIntentCreateParams
from beyondpay.payments.service import payment_intent_service
from beyondpay.rails.service import rails_for_currency

FIRST_ATTEMPT: Final = 1

# Who may take over an auto-advancing invoice's first collection (subscriptions' dunning: RBI's
# pre-debit notice may not be 25 hours old yet, or the charge needs the customer): True means
# the gate schedules the attempt itself, or never makes it off-session.
CollectionGate = Callable[[AsyncSession, InvoiceRow, datetime], Awaitable[bool]]
_collection_gates: list[CollectionGate] = []


def on_first_collection(gate: CollectionGate) -> None:
    """Register ``gate`` to be asked, in the finalization's transaction, before an
    auto-advancing charge_automatically invoice's first collection is deferred (billing's parts
    above this one cannot be imported here). Registered by ``app.wire_modules``; registering
    twice changes nothing."""
    if gate not in _collection_gates:
        _collection_gates.append(gate)


async def number_prefix(session: AsyncSession, merchant_id: str, livemode: bool) -> str:
    prefix = (
        await session.execute(
            select(InvoiceSettingsRow.number_prefix).where(
                InvoiceSettingsRow.merchant_id == merchant_id,
                InvoiceSettingsRow.livemode == livemode,
            )
        )
    ).scalar_one_or_none()
    return prefix or NUMBER_PREFIX_DEFAULT


async def _take_number(session: AsyncSession, invoice: InvoiceRow, moment: datetime) -> str:
    """The next number of the merchant's financial year, taken in the caller's transaction."""
    year = financial_year_at(moment)
    prefix = await number_prefix(session, invoice.merchant_id, invoice.livemode)
    taken = await next_in_year(
        session, InvoiceNumberCounterRow, invoice.merchant_id, invoice.livemode, year
    )
    try:
        return invoice_number(prefix, year, taken)
    except InvoiceNumberError:
        raise InvoiceNumberExhaustedError(
            f"The invoice numbers of this financial year no longer fit the 16 characters GST"
            f" allows with the prefix {prefix!r}: set a shorter number_prefix.",
        ) from None


async def _snapshot(session: AsyncSession, invoice: InvoiceRow) -> None:
    """The customer and the merchant as the finalized invoice prints them from now on."""
    customer = await customer_service.get(
        session, acting_for(invoice.merchant_id, invoice.livemode), invoice.customer_id
    )
    invoice.customer_name = customer.name
    invoice.customer_email = customer.email
    invoice.customer_phone = customer.phone
    invoice.customer_address = customer.address
    invoice.customer_shipping = customer.shipping
    invoice.account_name = await merchant_service.business_name(session, invoice.merchant_id)


async def _make_payment_intent(session: AsyncSession, invoice: InvoiceRow) -> str:
    """The PaymentIntent the invoice is paid through, made unconfirmed for what is due, with the
    payment method types its currency's rails take (the hosted page offers them all)."""
    params = PaymentIntentCreateParams(
        amount=invoice.amount_due,
        currency=invoice.currency,
        customer=invoice.customer_id,
        payment_method_types=[str(rail) for rail in rails_for_currency(invoice.currency)],
        description=f"Invoice {invoice.number}",
        expand=[],
    )
    caller = acting_for(invoice.merchant_id, invoice.livemode)
    ring = CONFIG.current().ring
    result = await payment_intent_service.create(
        session, caller, ring, params, NoRecoveryPoint(), owner=invoice.id
    )
    return result.intent.id


async def finalize_locked(
    session: AsyncSession,
    invoice: InvoiceRow,
    moment: datetime,
    *,
    auto_advance: bool | None = None,
) -> None:
    """Finalizes the locked draft at ``moment``: its number, the customer's details, its
    PaymentIntent and its timers; ``invoice.finalized``. Nothing due (or the customer's credit
    covers it): it is paid at once, as Stripe marks a zero invoice paid."""
    status = transition(invoice, Action.finalize)
    # Its discounts checked again and redeemed once, and the GST facts (the customer's GSTIN,
    # the place of supply) and taxes as they stand now: the finalized invoice keeps them.
    await discounting.redeem(
        session, acting_for(invoice.merchant_id, invoice.livemode), invoice, moment
    )
    await recompute(session, invoice)
    if auto_advance is not None:
        invoice.auto_advance = auto_advance
    invoice.last_finalization_error = None
    await _snapshot(session, invoice)
    invoice.number = await _take_number(session, invoice, moment)
    invoice.status = status
    invoice.finalized_at = moment
    invoice.automatically_finalizes_at = None
    invoice.updated_at = utcnow()
    # The customer's credit pays what it can (a debt is added), and a negative total is credit
    # the customer gets: Stripe's starting_balance and ending_balance.
    await customer_balance_service.apply_to_invoice(session, invoice)
    if invoice.amount_due > 0:
        invoice.payment_intent_id = await _make_payment_intent(session, invoice)
    await announce(session, invoice, InvoiceEvent.finalized)
    if invoice.amount_due == 0:
        await settle(session, invoice, 0, moment)
        return
    await schedule_overdue(session, invoice)


async def fail_finalization(
    session: AsyncSession, invoice_id: str, error: InvalidRequestError
) -> None:
    """The draft's automatic finalization was refused (rolled back by the caller): it keeps
    the reason as Stripe's ``last_finalization_error``, stops advancing on its own and records
    ``invoice.finalization_failed``. A finalization by the merchant clears the reason."""
    invoice = await lock(session, invoice_id)
    invariant(invoice is not None, "a draft that failed to finalize exists")
    assert invoice is not None
    invoice.last_finalization_error = {
        "type": "invalid_request_error",
        "code": error.code,
        "message": error.message,
        "param": error.param,
        "doc_url": None,
    }
    invoice.automatically_finalizes_at = None
    invoice.updated_at = utcnow()
    await announce(session, invoice, InvoiceEvent.finalization_failed)


async def settle(
    session: AsyncSession,
    invoice: InvoiceRow,
    amount_paid: int,
    moment: datetime,
    *,
    out_of_band: bool = False,
) -> None:
    """The locked invoice is paid: ``invoice.paid`` (and ``invoice.payment_succeeded`` when
    money moved through its PaymentIntent)."""
    invoice.status = transition(invoice, Action.settle)
    invariant(amount_paid == invoice.amount_due, "an invoice is paid in full, once")
    invoice.amount_paid = amount_paid
    invoice.paid_out_of_band = out_of_band
    invoice.paid_at = moment
    invoice.next_payment_attempt = None
    invoice.updated_at = utcnow()
    if amount_paid > 0 and not out_of_band:
        await announce(session, invoice, InvoiceEvent.payment_succeeded, InvoiceEvent.paid)
    else:
        await announce(session, invoice, InvoiceEvent.paid)


async def after_finalization(
    session: AsyncSession, invoice: InvoiceRow, moment: datetime | None = None
) -> None:
    """What an auto-advancing invoice does once finalized: its first collection attempt is a
    job deferred now (the rail is never asked inside this transaction), or it is emailed."""
    if not invoice.auto_advance or invoice.status != Status.open:
        return
    if invoice.collection_method == CollectionMethod.charge_automatically:
        at = moment or await now_for(session, invoice)
        for gate in _collection_gates:
            if await gate(session, invoice, at):
                return
        await schedule_collection(session, invoice, FIRST_ATTEMPT)
    elif invoice.sent_at is None:
        if invoice.customer_email is None:
            return  # nowhere to send it: the hosted link is still the merchant's to share
        await send_locked(session, invoice, moment or await now_for(session, invoice))


async def send_locked(session: AsyncSession, invoice: InvoiceRow, moment: datetime) -> None:
    """Emails the locked invoice to its customer (the outbox, sent after commit) and records
    ``invoice.sent``."""
    invoice.status = transition(invoice, Action.send)
    if invoice.collection_method != CollectionMethod.send_invoice:
        raise InvalidRequestError(
            "You can only send an invoice whose collection_method is send_invoice: this one is"
            " charged to the customer's payment method.",
        )
    recipient = invoice.customer_email
    if recipient is None:
        raise InvalidRequestError(
            "The invoice's customer has no email address to send it to: set the customer's"
            " email, then send it again.",
            param="customer",
        )
    await notification_service.queue_email(
        session,
        merchant_id=invoice.merchant_id,
        livemode=invoice.livemode,
        kind=Kind.invoice,
        subject_id=invoice.id,
        recipient=recipient,
    )
    invoice.sent_at = moment
    invoice.updated_at = utcnow()
    await announce(session, invoice, InvoiceEvent.sent)


# ---- the jobs that run the timers ---------------------------------------------------------------


def _seconds_until(moment: datetime) -> float:
    return max((moment - utcnow()).total_seconds(), 0.0)


async def schedule_finalization(session: AsyncSession, invoice: InvoiceRow) -> None:
    """An auto-advancing draft in real time: its finalization, at its time."""
    if invoice.automatically_finalizes_at is None or invoice.test_clock is not None:
        return
    await jobs.defer(
        session,
        tasks.advance,
        schedule_in_s=_seconds_until(invoice.automatically_finalizes_at),
        invoice=invoice.id,
    )


async def schedule_overdue(session: AsyncSession, invoice: InvoiceRow) -> None:
    """An open send_invoice invoice in real time: the check that it is overdue, at its due
    date (a job after its due date finds it paid, or marks it once)."""
    if invoice.due_date is None or invoice.test_clock is not None:
        return
    await jobs.defer(
        session, tasks.overdue, schedule_in_s=_seconds_until(invoice.due_date), invoice=invoice.id
    )


async def schedule_collection(session: AsyncSession, invoice: InvoiceRow, attempt: int) -> None:
    """The ``attempt``-th automatic collection of the invoice (``<invoice>:attempt:<n>``), as
    soon as a worker takes it: made once whoever runs it, since the attempt is counted on the
    invoice under its lock before the PaymentIntent is confirmed (``collection.collect``)."""
    await jobs.defer(session, tasks.collect, invoice=invoice.id, attempt=attempt)
