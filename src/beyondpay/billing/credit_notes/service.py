"""Credit notes' use cases. Never commits, but through ``phases`` when a credit note refunds.

**Issuing** (``create``): the invoice is locked (after its PaymentIntent: invoices'
``crediting``), so the credit notes of one invoice are made one at a time and each sees those
before it; two credit notes racing for the last rupee left to credit make one, and the other is
refused naming the parameter. In that one transaction: the credit note and its lines (each
with its share of its invoice line's discount and GST, ``domain``), its GST serial number, what
it does to its invoice (before payment: less due, the PaymentIntent updated), the credit to the
customer's balance (a ledger transfer, ``invoices.balance``), and ``credit_note.created``.

**Refunding** (``refund_amount``): the refund is made through the invoice's PaymentIntent by
refunds' own use case, with its phases: the credit note commits with the refund written pending
at refunds' recovery point, the rail is asked outside any transaction, and the answer is applied
in a second one. A retry of a request that died between the phases resumes at the recovery point
(``refund:<id>``) and finds its credit note by the refund's metadata.

**Numbering** as invoices number theirs (``CN/2627/00000001``: 16 characters, consecutive per
merchant, mode and financial year; the counter row is locked until the transaction ends, so one
that rolls back gives its number back).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.credit_notes.domain import (
    LINES_PER_CREDIT_NOTE_MAX,
    NUMBER_PREFIX,
    AskedLine,
    CreditLine,
    CreditNoteInputError,
    InvoiceLine,
    Kind,
    LineType,
    Settlement,
    Status,
    Totals,
    credit_lines,
    credited_by_line,
    settlement,
    totals,
)
from beyondpay.billing.credit_notes.errors import (
    CreditNoteInvalidError,
    CreditNoteInvoiceStateError,
    CreditNoteUnexpectedStateError,
)
from beyondpay.billing.credit_notes.events import CreditNoteEvent, record
from beyondpay.billing.credit_notes.models import (
    CreditNoteLineRow,
    CreditNoteNumberCounterRow,
    CreditNoteRow,
)
from beyondpay.billing.credit_notes.rendering import (
    compose_credit_note_email,
    pdf_of_token,
    pdf_url,
)
from beyondpay.billing.credit_notes.schemas import (
    CreditNoteAmountsParams,
    CreditNoteCreateParams,
    CreditNoteLinesParams,
    CreditNoteListParams,
    CreditNoteUpdateParams,
    CreditNoteView,
    credit_note_object,
    line_taxes,
)
from beyondpay.billing.documents.service import DocumentKind, document_service
from beyondpay.billing.invoices.domain import TaxAmount, invoice_taxes
from beyondpay.billing.invoices.service import (
    InvoiceItemRow,
    InvoiceRow,
    crediting,
    customer_balance_service,
)
from beyondpay.billing.invoices.store import acting_for, next_in_year
from beyondpay.billing.tax.domain import InvoiceNumberError, financial_year_at, invoice_number
from beyondpay.db.pagination import LIMIT_MAX, created_conditions, scoped, scoped_page
from beyondpay.db.phases import Phases
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.kit.invariants import invariant
from beyondpay.kit.params import merge_metadata
from beyondpay.merchants.domain import Caller
from beyondpay.refunds.errors import ChargeAlreadyRefundedError, RefundAmountTooLargeError
from beyondpay.refunds.schemas import RefundCreateParams, RefundListParams
from beyondpay.refunds.service import RECOVERY_PREFIX, refund_service

__all__ = [
    "CreditNoteService",
    "compose_credit_note_email",
    "credit_note_service",
    "page_of_lines",
    "pdf_of_token",
    "view_of",
]

OBJECT: Final = "credit_note"
LINES_EMBEDDED_MAX: Final = 10
CREDIT_NOTE_BALANCE_TYPE: Final = "credit_note"
# Stripe's refund reasons; a credit note's other reasons refund as the customer's request.
_REFUND_REASONS: Final = frozenset({"duplicate", "fraudulent"})


def _asked(params: CreditNoteAmountsParams) -> list[AskedLine]:
    return [
        AskedLine(
            type=LineType(line.type),
            param=f"lines[{index}]",
            invoice_line_item=line.invoice_line_item,
            quantity=line.quantity,
            amount=line.amount,
            unit_amount=line.unit_amount,
            description=line.description,
        )
        for index, line in enumerate(params.lines)
    ]


def _line_discount(item: InvoiceItemRow) -> int:
    return sum(int(entry["amount"]) for entry in item.discount_amounts)


@dataclass(frozen=True, slots=True)
class Plan:
    """A credit note as asked, checked against its invoice: what create writes and the
    previews show."""

    invoice: InvoiceRow
    kind: Kind
    lines: list[CreditLine]
    figures: Totals
    money: Settlement


async def _credited_lines(session: AsyncSession, invoice_id: str) -> dict[str, int]:
    """How much of each invoice line its credit notes (not voided) have credited."""
    rows = await session.execute(
        select(CreditNoteLineRow.invoice_line_item, CreditNoteLineRow.amount)
        .join(CreditNoteRow, CreditNoteRow.id == CreditNoteLineRow.credit_note_id)
        .where(CreditNoteRow.invoice_id == invoice_id, CreditNoteRow.status == Status.issued)
    )
    return credited_by_line([(line_id, int(amount)) for line_id, amount in rows.all()])


async def _refunded(session: AsyncSession, invoice_id: str) -> int:
    found = await session.execute(
        select(func.coalesce(func.sum(CreditNoteRow.refund_amount), 0)).where(
            CreditNoteRow.invoice_id == invoice_id, CreditNoteRow.status == Status.issued
        )
    )
    return int(found.scalar_one())


def _invalid(error: CreditNoteInputError) -> CreditNoteInvalidError:
    return CreditNoteInvalidError(str(error), param=error.param)


async def _plan(
    session: AsyncSession, invoice: InvoiceRow, params: CreditNoteAmountsParams
) -> Plan:
    if invoice.status not in crediting.CREDITABLE:
        raise CreditNoteInvoiceStateError(
            f"You cannot create a credit note for an invoice whose status is {invoice.status}:"
            " it must be open, uncollectible or paid.",
            param="invoice",
        )
    if not params.lines and params.amount is None:
        raise CreditNoteInvalidError("A credit note needs lines or an amount.", param="lines")
    kind = Kind.post_payment if invoice.status == "paid" else Kind.pre_payment
    credited = await _credited_lines(session, invoice.id)
    invoice_lines = [
        InvoiceLine(
            line_id=str(item.line_id),
            amount=item.amount,
            quantity=item.quantity,
            unit_amount=item.unit_amount,
            description=item.description,
            discount=_line_discount(item),
            taxes=tuple(TaxAmount.of_stored(tax) for tax in item.taxes),
            credited=credited.get(str(item.line_id), 0),
        )
        for item in await crediting.lines(session, invoice.id)
    ]
    try:
        lines = credit_lines(invoice_lines, _asked(params))
        figures = totals(lines, params.amount)
        money = settlement(
            kind,
            figures.total,
            params.refund_amount,
            params.credit_amount,
            params.out_of_band_amount,
        )
    except CreditNoteInputError as error:
        raise _invalid(error) from None
    _check_creditable(invoice, kind, figures, params)
    if money.refund:
        await _check_refundable(session, invoice, money.refund)
    return Plan(invoice, kind, lines, figures, money)


def _check_creditable(
    invoice: InvoiceRow, kind: Kind, figures: Totals, params: CreditNoteAmountsParams
) -> None:
    param = "amount" if params.amount is not None else "lines"
    if params.amount is not None and params.lines and params.amount != figures.total:
        raise CreditNoteInvalidError(
            f"The amount ({params.amount}) must equal the total of the lines ({figures.total}).",
            param="amount",
        )
    credited = invoice.pre_payment_credit_notes_amount + invoice.post_payment_credit_notes_amount
    left = invoice.total - credited
    if kind == Kind.pre_payment:
        left = min(left, invoice.amount_due)
    if figures.total > left:
        raise CreditNoteInvalidError(
            f"The credit note's total ({figures.total}) is more than the invoice has left to"
            f" credit ({max(left, 0)}).",
            param=param,
        )


async def _check_refundable(session: AsyncSession, invoice: InvoiceRow, refund: int) -> None:
    left = invoice.amount_paid - await _refunded(session, invoice.id)
    if invoice.paid_out_of_band or invoice.payment_intent_id is None or refund > left:
        raise CreditNoteInvalidError(
            f"refund_amount ({refund}) is more than the invoice's payment has left to refund"
            f" ({0 if invoice.paid_out_of_band else max(left, 0)}).",
            param="refund_amount",
        )


async def _take_number(session: AsyncSession, invoice: InvoiceRow, moment: datetime) -> str:
    year = financial_year_at(moment)
    taken = await next_in_year(
        session, CreditNoteNumberCounterRow, invoice.merchant_id, invoice.livemode, year
    )
    try:
        return invoice_number(NUMBER_PREFIX, year, taken)
    except InvoiceNumberError:
        raise CreditNoteInvalidError(
            "This financial year's credit note numbers are used up.", param="invoice"
        ) from None


async def _next_number(session: AsyncSession, invoice: InvoiceRow, moment: datetime) -> str:
    """The number the next credit note would take (a preview takes none)."""
    year = financial_year_at(moment)
    last = (
        await session.execute(
            select(CreditNoteNumberCounterRow.last_number).where(
                CreditNoteNumberCounterRow.merchant_id == invoice.merchant_id,
                CreditNoteNumberCounterRow.livemode == invoice.livemode,
                CreditNoteNumberCounterRow.financial_year == year,
            )
        )
    ).scalar_one_or_none()
    return invoice_number(NUMBER_PREFIX, year, (last or 0) + 1)


def _rows(
    plan: Plan, params: CreditNoteAmountsParams, number: str, moment: datetime, note_id: str
) -> tuple[CreditNoteRow, list[CreditNoteLineRow]]:
    invoice = plan.invoice
    now = utcnow()
    note = CreditNoteRow(
        id=note_id,
        merchant_id=invoice.merchant_id,
        livemode=invoice.livemode,
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        number=number,
        status=Status.issued,
        type=plan.kind,
        currency=invoice.currency,
        subtotal=plan.figures.subtotal,
        total=plan.figures.total,
        refund_amount=plan.money.refund,
        credit_amount=plan.money.credit,
        out_of_band_amount=plan.money.out_of_band,
        refund_id=None,
        customer_balance_transaction_id=None,
        reason=params.reason,
        memo=params.memo or None,
        metadata_=merge_metadata(
            {}, params.metadata if isinstance(params.metadata, dict) else None
        ),
        gst=invoice.gst,
        effective_at=moment,
        voided_at=None,
        created_at=moment,
        updated_at=now,
    )
    lines = [
        CreditNoteLineRow(
            id=new_id("cnli"),
            credit_note_id=note.id,
            position=position,
            type=line.type,
            invoice_line_item=line.invoice_line_item,
            description=line.description,
            quantity=line.quantity,
            unit_amount=line.unit_amount,
            amount=line.amount,
            taxes={"discount": line.discount, "taxes": [tax.stored() for tax in line.taxes]},
        )
        for position, line in enumerate(plan.lines, start=1)
    ]
    return note, lines


def view_of(
    note: CreditNoteRow, lines: Sequence[CreditNoteLineRow], pdf: str | None = None
) -> CreditNoteView:
    taxes = invoice_taxes([line_taxes(line) for line in lines])
    return CreditNoteView(
        lines=list(lines[:LINES_EMBEDDED_MAX]),
        lines_has_more=len(lines) > LINES_EMBEDDED_MAX,
        lines_count=len(lines),
        taxes=taxes,
        discount=sum(int(line.taxes.get("discount", 0)) for line in lines),
        pdf=pdf,
    )


async def _lines_of(session: AsyncSession, note_id: str) -> list[CreditNoteLineRow]:
    rows = await session.execute(
        select(CreditNoteLineRow)
        .where(CreditNoteLineRow.credit_note_id == note_id)
        .order_by(CreditNoteLineRow.position)
        .limit(LINES_PER_CREDIT_NOTE_MAX)
    )
    return list(rows.scalars())


class CreditNoteService:
    async def rendered(self, session: AsyncSession, note: CreditNoteRow) -> dict[str, Any]:
        if note.refund_amount and note.refund_id is None:
            await self._find_refund(session, note)
        lines = await _lines_of(session, note.id)
        return credit_note_object(note, view_of(note, lines, pdf_url(note)))

    async def _find_refund(self, session: AsyncSession, note: CreditNoteRow) -> None:
        """A credit note whose request died while its refund was with the rail, and was not
        retried: its refund (finished by refunds' status job) names it in its metadata, and
        the credit note is linked to it when it is next read."""
        invoice = await session.get(InvoiceRow, note.invoice_id)
        if invoice is None or invoice.payment_intent_id is None:
            return
        caller = acting_for(note.merchant_id, note.livemode)
        refunds, _ = await refund_service.list(
            session,
            caller,
            RefundListParams(payment_intent=invoice.payment_intent_id, limit=LIMIT_MAX),
        )
        for refund in refunds:
            if refund.metadata_.get("credit_note") == note.id:
                note.refund_id = refund.id
                return

    async def create(
        self,
        session: AsyncSession,
        caller: Caller,
        params: CreditNoteCreateParams,
        phases: Phases,
    ) -> CreditNoteRow:
        if phases.recovery_point.startswith(RECOVERY_PREFIX):
            return await self._resume_refund(session, caller, params, phases)
        invoice = await crediting.lock_for_credit(session, caller, params.invoice)
        plan = await _plan(session, invoice, params)
        moment = await crediting.moment_of(session, invoice)
        note, lines = _rows(
            plan, params, await _take_number(session, invoice, moment), moment, new_id("cn")
        )
        session.add(note)
        await session.flush()  # before its lines: no ORM relationship orders the inserts
        session.add_all(lines)
        await session.flush()
        await crediting.credit(session, caller, invoice, note.total)
        if note.credit_amount:
            transaction = await customer_balance_service.change(
                session,
                caller,
                invoice.customer_id,
                amount=-note.credit_amount,
                currency=note.currency,
                type=CREDIT_NOTE_BALANCE_TYPE,
                invoice_id=invoice.id,
                credit_note_id=note.id,
                param="credit_amount",
            )
            note.customer_balance_transaction_id = transaction.id
            await session.flush()
        await record(session, note, CreditNoteEvent.created, await self.rendered(session, note))
        if invoice.customer_email is not None:
            # Its PDF to the customer, sent after commit (the outbox), as an invoice's is.
            await document_service.queue_email(
                session,
                merchant_id=note.merchant_id,
                livemode=note.livemode,
                kind=DocumentKind.credit_note,
                document_id=note.id,
                recipient=invoice.customer_email,
            )
        if note.refund_amount:
            await self._refund(session, caller, note, invoice, phases)
        return note

    async def _refund(
        self,
        session: AsyncSession,
        caller: Caller,
        note: CreditNoteRow,
        invoice: InvoiceRow,
        phases: Phases,
    ) -> None:
        """The refund through the invoice's payment: refunds' phases commit the credit note
        with it at their recovery point, before the rail is asked."""
        note_id, amount = note.id, note.refund_amount
        reason = note.reason if note.reason in _REFUND_REASONS else "requested_by_customer"
        refund_params = RefundCreateParams(
            payment_intent=invoice.payment_intent_id,
            amount=amount,
            reason=reason,
            metadata={"credit_note": note_id},
            expand=[],
        )
        try:
            refund = await refund_service.create(session, caller, refund_params, phases)
        except (RefundAmountTooLargeError, ChargeAlreadyRefundedError) as error:
            raise CreditNoteInvalidError(str(error), param="refund_amount") from None
        await self._link_refund(session, note_id, refund.id)

    async def _link_refund(self, session: AsyncSession, note_id: str, refund_id: str) -> None:
        note = await session.get(
            CreditNoteRow, note_id, with_for_update=True, populate_existing=True
        )
        invariant(note is not None, "a refunding credit note was committed with its refund")
        assert note is not None
        if note.refund_id is None:
            note.refund_id = refund_id
            note.updated_at = utcnow()
            await session.flush()

    async def _resume_refund(
        self,
        session: AsyncSession,
        caller: Caller,
        params: CreditNoteCreateParams,
        phases: Phases,
    ) -> CreditNoteRow:
        """A retry of a request that died between the refund's phases: the refund finished,
        and the credit note it was made for returned."""
        refund_id = phases.recovery_point.removeprefix(RECOVERY_PREFIX)
        refund = await refund_service.create(session, caller, RefundCreateParams(expand=[]), phases)
        invariant(refund.id == refund_id, "the refund resumed is the one at the recovery point")
        note_id = refund.metadata_.get("credit_note")
        invariant(note_id is not None, "a credit note's refund names it")
        await self._link_refund(session, str(note_id), refund.id)
        return await self.get(session, caller, str(note_id))

    async def preview(
        self, session: AsyncSession, caller: Caller, params: CreditNoteAmountsParams
    ) -> tuple[CreditNoteRow, list[CreditNoteLineRow]]:
        """The credit note ``create`` would issue now, written nowhere (Stripe's preview); it
        locks nothing, so a credit note issued meanwhile may make it differ."""
        invoice = await crediting.to_credit(session, caller, params.invoice)
        plan = await _plan(session, invoice, params)
        moment = await crediting.moment_of(session, invoice)
        number = await _next_number(session, invoice, moment)
        return _rows(plan, params, number, moment, f"cn_preview_{invoice.id.removeprefix('in_')}")

    async def get(self, session: AsyncSession, caller: Caller, note_id: str) -> CreditNoteRow:
        statement = scoped(
            CreditNoteRow, caller.merchant, caller.livemode, CreditNoteRow.id == note_id
        )
        row: CreditNoteRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object(OBJECT, note_id)
        return row

    async def _locked(self, session: AsyncSession, note_id: str) -> CreditNoteRow:
        row = await session.get(
            CreditNoteRow, note_id, with_for_update=True, populate_existing=True
        )
        invariant(row is not None, "a credit note found is there to lock")
        assert row is not None
        return row

    async def update(
        self, session: AsyncSession, caller: Caller, note_id: str, params: CreditNoteUpdateParams
    ) -> CreditNoteRow:
        found = await self.get(session, caller, note_id)
        note = await self._locked(session, found.id)
        before = {"memo": note.memo, "metadata": dict(note.metadata_)}
        sent = params.model_fields_set
        if "memo" in sent:
            note.memo = params.memo or None
        if "metadata" in sent:
            metadata = params.metadata if isinstance(params.metadata, dict) else {}
            note.metadata_ = merge_metadata(note.metadata_, metadata)
        after = {"memo": note.memo, "metadata": dict(note.metadata_)}
        previous = {field: before[field] for field in before if before[field] != after[field]}
        if previous:
            note.updated_at = utcnow()
            await session.flush()
            await record(
                session,
                note,
                CreditNoteEvent.updated,
                await self.rendered(session, note),
                previous_attributes=previous,
            )
        return note

    async def void(self, session: AsyncSession, caller: Caller, note_id: str) -> CreditNoteRow:
        """Voids an issued credit note: what it took off its unpaid invoice is due again, and
        the credit it gave the customer's balance is taken back. One that refunded cannot be
        voided: the money has gone back by the rail."""
        found = await self.get(session, caller, note_id)
        invoice = await crediting.lock_for_credit(session, caller, found.invoice_id)
        note = await self._locked(session, found.id)
        if note.status != Status.issued:
            raise CreditNoteUnexpectedStateError(
                "This credit note is already void.", param="credit_note"
            )
        if note.refund_amount:
            raise CreditNoteUnexpectedStateError(
                "A credit note that refunded its customer cannot be voided: the refund has"
                " been made.",
                param="credit_note",
            )
        pre_payment = note.type == Kind.pre_payment
        if pre_payment and invoice.status not in crediting.UNPAID:
            raise CreditNoteUnexpectedStateError(
                f"This credit note lowered what its invoice asked before payment, and the invoice"
                f" is now {invoice.status}: it can no longer be voided.",
                param="credit_note",
            )
        await crediting.uncredit(session, caller, invoice, note.total, pre_payment=pre_payment)
        if note.credit_amount:
            await customer_balance_service.change(
                session,
                caller,
                invoice.customer_id,
                amount=note.credit_amount,
                currency=note.currency,
                type=CREDIT_NOTE_BALANCE_TYPE,
                invoice_id=invoice.id,
                credit_note_id=note.id,
            )
        note.status = Status.void
        note.voided_at = await crediting.moment_of(session, invoice)
        note.updated_at = utcnow()
        await session.flush()
        await record(session, note, CreditNoteEvent.voided, await self.rendered(session, note))
        return note

    async def list(
        self, session: AsyncSession, caller: Caller, params: CreditNoteListParams
    ) -> tuple[Sequence[CreditNoteRow], bool]:
        conditions: list[Any] = list(created_conditions(CreditNoteRow.created_at, params.created))
        if params.invoice is not None:
            conditions.append(CreditNoteRow.invoice_id == params.invoice)
        if params.customer is not None:
            conditions.append(CreditNoteRow.customer_id == params.customer)
        return await scoped_page(
            session,
            CreditNoteRow,
            caller.merchant,
            caller.livemode,
            params,
            *conditions,
            object_name=OBJECT,
        )

    async def lines(
        self, session: AsyncSession, caller: Caller, note_id: str, params: CreditNoteLinesParams
    ) -> tuple[Sequence[CreditNoteLineRow], bool]:
        """A page of the credit note's lines, in its order."""
        note = await self.get(session, caller, note_id)
        return page_of_lines(await _lines_of(session, note.id), params)


def page_of_lines(
    lines: list[CreditNoteLineRow], params: Any
) -> tuple[list[CreditNoteLineRow], bool]:
    """A page of ``lines`` (all of a credit note's: at most ``LINES_PER_CREDIT_NOTE_MAX``)
    after ``starting_after`` or before ``ending_before``."""
    if params.starting_after and params.ending_before:
        raise InvalidRequestError(
            "You may only specify one of these parameters: starting_after, ending_before.",
            param="ending_before",
        )
    ids = [line.id for line in lines]
    cursor = params.starting_after or params.ending_before
    if cursor is not None and cursor not in ids:
        param = "starting_after" if params.starting_after else "ending_before"
        raise ResourceMissingError.for_object("credit_note_line_item", cursor, param=param)
    if params.ending_before:
        before = lines[: ids.index(params.ending_before)]
        return before[-params.limit :], len(before) > params.limit
    start = ids.index(params.starting_after) + 1 if params.starting_after else 0
    rest = lines[start:]
    return rest[: params.limit], len(rest) > params.limit


credit_note_service = CreditNoteService()
