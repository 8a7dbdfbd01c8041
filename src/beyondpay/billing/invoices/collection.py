"""Collecting an invoice: paying it (``POST /v1/invoices/{id}/pay``, the automatic collection
job, the hosted page), and hearing what happens to its PaymentIntent.

**One PaymentIntent per invoice**, made at finalization for what is due (``lifecycle``). Every
attempt confirms that intent, through payments' own use case and its phases: the intent is
locked, the charge written, committed as the recovery point, the rail asked outside any
transaction, the answer applied in a second short transaction. An intent succeeds at most once
(payments' state machine), so an invoice is charged at most once however many attempts race:
two confirmations meet at the intent's row lock, and the second finds it busy with the rail
(``lock_timeout``, which Stripe's SDKs retry) or already succeeded (the invoice is paid: 400
``invoice_already_paid``). An automatic attempt is named ``<invoice>:attempt:<n>``: the job
counts it on the invoice under the locks before confirming, and a job finding the count at
``n`` already has nothing to do.

**The invoice is paid in the payment's transaction.** Payments records the intent's events and
calls the handlers registered with ``payments.service.on_intent_event`` in that transaction
(``app.wire_modules`` registers :func:`hear_payment`): the invoice becomes ``paid``
(``invoice.payment_succeeded``, ``invoice.paid``) with the payment that succeeded, whoever
brought the answer (the request, a rail's callback, the 3-D Secure page, the reconciliation
job). A decline records ``invoice.payment_failed``; a payment waiting for the customer (3-D
Secure, a UPI app, a bank page) ``invoice.payment_action_required``, the invoice staying open
with its intent in ``requires_action`` for the hosted page to complete.

**Lock order**: the intent, then the invoice (payments holds the intent when it tells us), in
every use case here.

Seam for dunning (issue 18, item 6): ``next_payment_attempt`` stays null after a failure, and a
retry is another ``collect`` job with the next attempt number; UPI renewals will go through
Autopay mandates (a payment method of type ``upi`` confirmed off-session is a collect request
today, which waits for the payer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.invoices import lifecycle
from beyondpay.billing.invoices.domain import Action, Status
from beyondpay.billing.invoices.errors import (
    InvoiceAlreadyPaidError,
    InvoicePaymentMethodMissingError,
)
from beyondpay.billing.invoices.events import InvoiceEvent
from beyondpay.billing.invoices.models import InvoiceRow
from beyondpay.billing.invoices.rendering import announce, hosted_invoice_url
from beyondpay.billing.invoices.schemas import InvoicePayParams
from beyondpay.billing.invoices.settings import CONFIG
from beyondpay.billing.invoices.store import (
    acting_for,
    find,
    lock,
    lock_by_intent,
    now_for,
    transition,
)
from beyondpay.customers.service import customer_service
from beyondpay.db.phases import STARTED, JobPhases, Phases
from beyondpay.db.session import Database
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import BeyondpayError, LockTimeoutError
from beyondpay.kit.invariants import invariant
from beyondpay.kit.logging import get_logger
from beyondpay.merchants.domain import Caller
from beyondpay.payment_methods.schemas import PaymentMethodDataParams
from beyondpay.payments.schemas import (
    PaymentIntentCancelParams,
    PaymentIntentConfirmParams,
    payment_intent_object,
)
from beyondpay.payments.service import (
    ConfirmResult,
    IntentChange,
    PaymentIntentEvent,
    payment_intent_service,
)

REQUIRES_ACTION: Final = "requires_action"
_UNPAID: Final = (Status.open, Status.uncollectible)
_log = get_logger(__name__)


@dataclass(slots=True)
class PayResult:
    invoice: InvoiceRow
    # A payment refused (402 card_error, as Stripe's pay answers a decline) or waiting for the
    # customer (402 invoice_payment_intent_requires_action): the body, the work committed.
    failure: dict[str, Any] | None = None
    failure_status: int = 402


def _count_attempt(invoice: InvoiceRow) -> None:
    """Stripe's count: any first attempt is attempt 1; after it, only automatic retries add."""
    invoice.attempted = True
    invoice.attempt_count = max(invoice.attempt_count, 1)


async def _payment_method(
    session: AsyncSession, caller: Caller, invoice: InvoiceRow, named: str | None
) -> str | None:
    """What pays: the one named, else the invoice's default, else its customer's
    ``invoice_settings.default_payment_method``."""
    if named is not None:
        return named
    if invoice.default_payment_method_id is not None:
        return invoice.default_payment_method_id
    customer = await customer_service.get(session, caller, invoice.customer_id)
    return customer.default_payment_method_id


async def _locked_for_payment(session: AsyncSession, caller: Caller, invoice_id: str) -> InvoiceRow:
    """The invoice and its PaymentIntent locked, the intent first; a draft finalized first (as
    Stripe does before attempting payment)."""
    found = await find(session, caller, invoice_id)
    if found.status == Status.draft:
        invoice = await find(session, caller, invoice_id, for_update=True)
        if invoice.status != Status.draft:
            raise LockTimeoutError()  # finalized under us: the intent must be locked first
        await lifecycle.finalize_locked(session, invoice, await now_for(session, invoice))
        return invoice
    if found.payment_intent_id is not None:
        await payment_intent_service.get(session, caller, found.payment_intent_id, for_update=True)
    return await find(session, caller, invoice_id, for_update=True)


def _check_payable(invoice: InvoiceRow) -> None:
    if invoice.status == Status.paid:
        raise InvoiceAlreadyPaidError()
    transition(invoice, Action.attempt_payment)


async def _reloaded(session: AsyncSession, invoice_id: str) -> InvoiceRow:
    invoice = await lock(session, invoice_id)
    invariant(invoice is not None, "a paid invoice exists")
    assert invoice is not None
    return invoice


def _result(invoice: InvoiceRow, result: ConfirmResult) -> PayResult:
    if result.failure is not None:
        return PayResult(invoice, result.failure, result.failure_status)
    if result.intent.status == REQUIRES_ACTION:
        return PayResult(
            invoice,
            {
                "error": {
                    "type": "card_error",
                    "code": "invoice_payment_intent_requires_action",
                    "message": "This payment requires additional user action before it can be"
                    " completed successfully. Payment can be completed using the PaymentIntent"
                    " associated with the invoice (its hosted page shows the customer how).",
                    "payment_intent": payment_intent_object(result.intent),
                }
            },
        )
    return PayResult(invoice)


class CollectionService:
    async def pay(
        self,
        session: AsyncSession,
        caller: Caller,
        ring: KeyRing,
        invoice_id: str,
        params: InvoicePayParams,
        phases: Phases,
    ) -> PayResult:
        """Attempts payment of the invoice now (or marks it paid out of band)."""
        if phases.recovery_point != STARTED:
            # Resumed after its process died past the recovery point: payments finishes the
            # confirmation it names (same request id), and the invoice follows its intent.
            result = await payment_intent_service.confirm(
                session, caller, ring, "", PaymentIntentConfirmParams(expand=[]), phases
            )
            return _result(await _reloaded(session, invoice_id), result)
        invoice = await _locked_for_payment(session, caller, invoice_id)
        _check_payable(invoice)
        if params.paid_out_of_band:
            await self._paid_out_of_band(session, caller, invoice)
            return PayResult(invoice)
        invariant(invoice.payment_intent_id is not None, "an unpaid invoice has its intent")
        method = await _payment_method(session, caller, invoice, params.payment_method)
        if method is None:
            raise InvoicePaymentMethodMissingError(
                "This invoice's customer has no default payment method, and the invoice none:"
                " pass payment_method, or set the customer's"
                " invoice_settings[default_payment_method].",
                param="payment_method",
            )
        _count_attempt(invoice)
        await session.flush()
        confirm = PaymentIntentConfirmParams(
            payment_method=method,
            off_session=params.off_session,
            return_url=hosted_invoice_url(invoice),
            expand=[],
        )
        result = await payment_intent_service.confirm(
            session, caller, ring, str(invoice.payment_intent_id), confirm, phases
        )
        return _result(await _reloaded(session, invoice_id), result)

    async def _paid_out_of_band(
        self, session: AsyncSession, caller: Caller, invoice: InvoiceRow
    ) -> None:
        """Paid outside the platform: the PaymentIntent is canceled (an attempt waiting for
        the customer is released) and the invoice is paid with no money moved here."""
        if invoice.payment_intent_id is not None:
            await payment_intent_service.cancel(
                session,
                caller,
                invoice.payment_intent_id,
                PaymentIntentCancelParams(cancellation_reason="abandoned", expand=[]),
                owner=invoice.id,
            )
        await lifecycle.settle(
            session,
            invoice,
            invoice.amount_due,
            await now_for(session, invoice),
            out_of_band=True,
        )

    async def pay_on_page(
        self,
        session: AsyncSession,
        ring: KeyRing,
        invoice_id: str,
        method: PaymentMethodDataParams,
    ) -> ConfirmResult | None:
        """The customer pays on the hosted page with what they typed (a card, UPI's intent
        flow, a bank): the PaymentIntent confirmed on-session, coming back to the page after a
        3-D Secure or bank page. ``session`` has no transaction open and is left committed.
        None when there is nothing to pay."""
        invoice = await session.get(InvoiceRow, invoice_id)
        invariant(invoice is not None, "a hosted page's invoice exists")
        assert invoice is not None
        caller = acting_for(invoice.merchant_id, invoice.livemode)
        invoice = await _locked_for_payment(session, caller, invoice_id)
        if invoice.status not in _UNPAID:
            await session.commit()
            return None
        _count_attempt(invoice)
        await session.flush()
        confirm = PaymentIntentConfirmParams(
            payment_method_data=method, return_url=hosted_invoice_url(invoice), expand=[]
        )
        result = await payment_intent_service.confirm(
            session, caller, ring, str(invoice.payment_intent_id), confirm, JobPhases(session)
        )
        await session.commit()
        return result

    async def collect(
        self, session: AsyncSession, invoice_id: str, attempt: int, phases: Phases
    ) -> None:
        """The ``attempt``-th automatic collection (``<invoice>:attempt:<n>``): the intent
        confirmed off-session with the default payment method. Made once: counted on the
        invoice under its lock before anything is asked; a run finding it counted, or the
        invoice no longer unpaid, does nothing."""
        found = await session.get(InvoiceRow, invoice_id)
        if found is None or found.status not in _UNPAID or found.payment_intent_id is None:
            return
        caller = acting_for(found.merchant_id, found.livemode)
        await payment_intent_service.get(session, caller, found.payment_intent_id, for_update=True)
        invoice = await lock(session, invoice_id)
        if invoice is None or invoice.status not in _UNPAID or invoice.attempt_count >= attempt:
            return
        invoice.attempted = True
        invoice.attempt_count = attempt
        method = await _payment_method(session, caller, invoice, None)
        if method is None:
            # Nothing to charge: the attempt fails as Stripe's does, and the invoice stays open.
            await announce(session, invoice, InvoiceEvent.payment_failed)
            return
        await session.flush()
        confirm = PaymentIntentConfirmParams(payment_method=method, off_session=True, expand=[])
        await payment_intent_service.confirm(
            session, caller, CONFIG.current().ring, invoice.payment_intent_id or "", confirm, phases
        )

    async def schedule_attempt(
        self, session: AsyncSession, invoice: InvoiceRow, attempt: int
    ) -> None:
        """Dunning's retry (billing.subscriptions): the ``attempt``-th automatic collection of
        the open invoice, as a job (made once: ``collect`` counts it under the invoice's lock)."""
        await lifecycle.schedule_collection(session, invoice, attempt)

    async def require_action(self, session: AsyncSession, invoice: InvoiceRow) -> bool:
        """Dunning's try that needs the customer (RBI's additional authentication above
        ₹15,000): nothing is charged off-session; the open invoice waits for its customer on
        the hosted page (``invoice.payment_action_required``, as Stripe records an invoice
        whose payment needs the customer). The PaymentIntent is left for the page to confirm
        on-session, where 3-D Secure happens. False when the invoice is no longer unpaid."""
        if invoice.status not in _UNPAID:
            return False
        await announce(session, invoice, InvoiceEvent.payment_action_required)
        return True

    async def plan_next_attempt(
        self, session: AsyncSession, invoice: InvoiceRow, at: datetime | None
    ) -> None:
        """When the unpaid invoice's next automatic try is (Stripe's ``next_payment_attempt``),
        as dunning planned it; None after the last."""
        if invoice.status not in _UNPAID or invoice.next_payment_attempt == at:
            return
        invoice.next_payment_attempt = at
        invoice.updated_at = utcnow()


collection_service = CollectionService()


async def collect_on(database: Database, invoice_id: str, attempt: int) -> None:
    """The collection job's run: its phases commit around the rail's answer."""
    async with database.sessionmaker() as session:
        try:
            await collection_service.collect(session, invoice_id, attempt, JobPhases(session))
        except LockTimeoutError:
            # Another attempt is with the rail (a pay racing this job): it decides.
            await session.rollback()
            _log.info("invoice_collection_busy", invoice=invoice_id, attempt=attempt)
            return
        except BeyondpayError as error:
            # A payment method refused before the rail (detached, of another customer): the
            # attempt is not made; the invoice stays open for the merchant or the customer.
            await session.rollback()
            _log.warning("invoice_collection_refused", invoice=invoice_id, code=error.code)
            return
        await session.commit()


async def hear_payment(session: AsyncSession, change: IntentChange) -> None:
    """What happened to an invoice's PaymentIntent, in the transaction that records it
    (payments' ``on_intent_event``, registered by ``app.wire_modules``)."""
    if change.type not in _HEARD:
        return
    invoice = await lock_by_intent(session, change.intent_id)
    if invoice is None:
        return  # not an invoice's payment
    if invoice.attempt_count == 0:  # the first attempt came from elsewhere (the intent's API)
        _count_attempt(invoice)
    if change.type == PaymentIntentEvent.succeeded:
        if invoice.status not in _UNPAID:
            # A voided or out-of-band invoice's intent is canceled first: it cannot succeed.
            _log.error("invoice_payment_after_close", invoice=invoice.id, status=invoice.status)
            return
        invariant(change.amount_received == invoice.amount_due, "an invoice is paid in full")
        await lifecycle.settle(
            session, invoice, change.amount_received, await now_for(session, invoice)
        )
    elif change.type == PaymentIntentEvent.payment_failed:
        await announce(session, invoice, InvoiceEvent.payment_failed)
    else:
        await announce(session, invoice, InvoiceEvent.payment_action_required)


_HEARD: Final = frozenset(
    {
        PaymentIntentEvent.succeeded,
        PaymentIntentEvent.payment_failed,
        PaymentIntentEvent.requires_action,
    }
)
