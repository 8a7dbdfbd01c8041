"""A credit note's PDF and email.

A credit note of a GST invoice is a GST credit note (rule 53: the original invoice's number
and date, its own serial, the GST reversed line by line), rendered by billing/documents from
the invoice's own tax document with the credit note's number, date and lines in place of the
invoice's. One of an invoice without GST (the merchant has no GSTIN) is a one-page PDF of its
text, as such invoices are. ``pdf`` is ``<public url>/credit_notes/<token>/pdf``, the token made
as an invoice link's is (``invoices.signed_link``); the email, queued when the credit note is
issued to a customer with an email address, carries the PDF (notifications' composer for
``credit_note``, registered in ``app.wire_modules``).
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.credit_notes.models import CreditNoteLineRow, CreditNoteRow
from beyondpay.billing.credit_notes.schemas import line_taxes
from beyondpay.billing.documents.service import (
    CreditNoteReference,
    DocumentEmail,
    DocumentKind,
    DocumentLine,
    InvoiceDocument,
    TaxCharge,
    document_service,
)
from beyondpay.billing.invoices.domain import IST
from beyondpay.billing.invoices.service import (
    InvoiceItemRow,
    InvoiceRow,
    crediting,
    invoice_id_of_token,
    signed_link,
    tax_invoice,
    text_pdf,
)
from beyondpay.billing.tax.domain import financial_year_at
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.kit.money import Money
from beyondpay.notifications.service import Addressed, Attachment, ComposedEmail

PDF_PATH: Final = "/credit_notes/"
_REASONS: Final = {
    "duplicate": "Duplicate charge",
    "fraudulent": "Fraudulent charge",
    "order_change": "Order change",
    "product_unsatisfactory": "Product unsatisfactory",
}
REASON_DEFAULT: Final = "Credit against the invoice"


def pdf_url(note: CreditNoteRow) -> str:
    return f"{signed_link(PDF_PATH, note.id)}/pdf"


def _rates(item: InvoiceItemRow, invoice: InvoiceRow) -> dict[str, Decimal]:
    applied = item.tax_rates or invoice.default_tax_rates
    return {str(rate["id"]): Decimal(str(rate["percentage"])) for rate in applied}


def _document_line(
    line: CreditNoteLineRow, item: InvoiceItemRow | None, invoice: InvoiceRow, intra_state: bool
) -> DocumentLine:
    """One credit note line as the document prints it, its GST at the invoice line's rates."""
    taxes = line_taxes(line)
    inclusive = sum(tax.amount for tax in taxes if tax.inclusive)
    rates = _rates(item, invoice) if item is not None else {}
    gst_taxes = [tax for tax in taxes if tax.cgst or tax.sgst or tax.igst]
    percent = sum((rates.get(tax.tax_rate, Decimal(0)) for tax in gst_taxes), Decimal(0))
    cgst = sgst = igst = None
    if gst_taxes and intra_state:
        half = (percent / 2).normalize()
        cgst = TaxCharge(half, sum(tax.cgst for tax in gst_taxes))
        sgst = TaxCharge(half, sum(tax.sgst for tax in gst_taxes))
    elif gst_taxes:
        igst = TaxCharge(percent.normalize(), sum(tax.igst for tax in gst_taxes))
    amount = line.amount - inclusive
    return DocumentLine(
        description=line.description or "Credit",
        quantity=line.quantity or 1,
        unit_amount=line.unit_amount if line.unit_amount is not None else amount,
        amount=amount,
        hsn_sac=item.hsn_sac if item is not None else None,
        discount=int(line.taxes.get("discount", 0)),
        cgst=cgst,
        sgst=sgst,
        igst=igst,
    )


async def _lines(session: AsyncSession, note_id: str) -> list[CreditNoteLineRow]:
    rows = await session.execute(
        select(CreditNoteLineRow)
        .where(CreditNoteLineRow.credit_note_id == note_id)
        .order_by(CreditNoteLineRow.position)
    )
    return list(rows.scalars())


async def credit_note_document(
    session: AsyncSession, note: CreditNoteRow
) -> InvoiceDocument | None:
    """The GST credit note, or None when its invoice is no GST tax invoice."""
    invoice = await session.get(InvoiceRow, note.invoice_id)
    if invoice is None:
        return None
    base = await tax_invoice(session, invoice)
    if base is None:
        return None
    items = {str(item.line_id): item for item in await crediting.lines(session, invoice.id)}
    intra_state = base.supplier.state == base.place_of_supply
    lines = [
        _document_line(line, items.get(str(line.invoice_line_item)), invoice, intra_state)
        for line in await _lines(session, note.id)
    ]
    if not lines:  # an amount without lines: one untaxed line
        lines = [DocumentLine("Credit", 1, note.total, note.total)]
    year = financial_year_at(note.effective_at)
    return replace(
        base,
        kind=DocumentKind.credit_note,
        number=note.number,
        issue_date=note.effective_at.astimezone(IST).date(),
        financial_year=f"{year}-{(year + 1) % 100:02d}",
        lines=tuple(lines),
        due_date=None,
        amount_paid=0,
        balance_applied=0,
        notes=note.memo,
        credit_note=CreditNoteReference(
            invoice_number=base.number,
            invoice_date=base.issue_date,
            reason=_REASONS.get(note.reason or "", REASON_DEFAULT),
            refund_amount=note.refund_amount,
            credit_amount=note.credit_amount,
        ),
    )


def _text(note: CreditNoteRow, invoice: InvoiceRow | None) -> list[str]:
    def money(amount: int) -> str:
        return Money(amount, note.currency).format()

    against = invoice.number if invoice is not None and invoice.number else note.invoice_id
    customer = (invoice.customer_name or invoice.customer_email) if invoice else None
    rows = [
        f"Credit note {note.number}",
        f"From: {(invoice.account_name if invoice else None) or 'Merchant'}",
        f"To: {customer or 'Customer'}",
        f"Against invoice {against}",
        f"Reason: {_REASONS.get(note.reason or '', REASON_DEFAULT)}",
        f"Total credited: {money(note.total)}",
    ]
    if note.refund_amount:
        rows.append(f"Refunded to the original payment: {money(note.refund_amount)}")
    if note.credit_amount:
        rows.append(f"Credited to your balance: {money(note.credit_amount)}")
    if note.status == "void":
        rows.append("This credit note is void.")
    return rows


async def credit_note_pdf(session: AsyncSession, note: CreditNoteRow) -> bytes:
    document = await credit_note_document(session, note)
    if document is not None:
        return await document_service.render_pdf(document)
    return text_pdf(_text(note, await session.get(InvoiceRow, note.invoice_id)))


async def pdf_of_token(session: AsyncSession, ring: KeyRing, token: str) -> tuple[str, bytes]:
    """The PDF a link's token names and its file name; 404 for a token not of a credit note."""
    note_id = invoice_id_of_token(ring, token)
    note = await session.get(CreditNoteRow, note_id) if note_id else None
    if note is None:
        raise ResourceMissingError.for_object("credit_note", token)
    return f"Credit-note-{note.number.replace('/', '-')}.pdf", await credit_note_pdf(session, note)


async def compose_credit_note_email(session: AsyncSession, addressed: Addressed) -> ComposedEmail:
    """The email of an issued credit note (notifications' composer for ``credit_note``): the
    GST credit note's email with its PDF attached, or a plain message for one without GST."""
    note = await session.get(CreditNoteRow, addressed.subject_id)
    if note is None:
        raise LookupError(addressed.subject_id)
    document = await credit_note_document(session, note)
    if document is not None:
        email = DocumentEmail(document)

        async def load(_session: AsyncSession, _id: str) -> DocumentEmail:
            return email

        return await document_service.composer(load)(session, addressed)
    invoice = await session.get(InvoiceRow, note.invoice_id)
    merchant = (invoice.account_name if invoice else None) or "Merchant"
    filename, pdf = (
        f"Credit-note-{note.number.replace('/', '-')}.pdf",
        text_pdf(_text(note, invoice)),
    )
    return ComposedEmail(
        from_name=merchant,
        subject=f"Credit note {note.number} from {merchant}",
        text="\n".join(_text(note, invoice)),
        attachments=(Attachment(filename, "application/pdf", pdf),),
    )
