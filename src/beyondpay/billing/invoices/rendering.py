"""How an invoice is shown: the object (with its first lines, its links and, expanded, its
payment), its events, the hosted page's view, its PDF and its email.

The hosted page (``hosted_invoice_url``) is ``<public url>/invoices/<token>`` and the PDF
(``invoice_pdf``) the same with ``/pdf``: the token is an HMAC of the invoice's id under the key
ring followed by the id, as a receipt's link is. Nothing stored, unguessable without the ring,
checked with every key of the ring (rotation keeps old links valid while the old key stays).
Both exist once the invoice is finalized, as Stripe's.

Seams for the documents part of billing (wired in its second round): :func:`invoice_pdf_bytes`
renders the PDF from :class:`InvoiceDocument`, a plain dataclass; today it writes a minimal PDF
of the document's text, so that the link answers.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.documents.service import (
    DocumentEmail,
    DocumentKind,
    Party,
    State,
    TaxCharge,
    document_service,
)
from beyondpay.billing.documents.service import (
    DocumentLine as TaxInvoiceLine,
)
from beyondpay.billing.documents.service import (
    InvoiceDocument as TaxInvoice,
)
from beyondpay.billing.invoices.domain import IST, Status, TaxAmount, invoice_taxes
from beyondpay.billing.invoices.events import InvoiceEvent, record
from beyondpay.billing.invoices.models import InvoiceItemRow, InvoiceRow
from beyondpay.billing.invoices.schemas import (
    InvoiceView,
    invoice_object,
    invoice_payment_object,
    line_object,
)
from beyondpay.billing.invoices.settings import CONFIG
from beyondpay.billing.invoices.store import acting_for, embedded_lines, lines_of
from beyondpay.billing.invoices.taxing import stored_taxes
from beyondpay.billing.tax.domain import financial_year_at
from beyondpay.billing.tax.states import STATES, state_name
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.kit.money import Money
from beyondpay.merchants.service import kyc_service, merchant_service
from beyondpay.notifications.service import Addressed, ComposedEmail
from beyondpay.payments.service import payment_intent_service

PAGE_PATH: Final = "/invoices/"
_LINK_LABEL: Final = "invoice_page:"
_TOKEN_MAC_BYTES: Final = 16
_INVOICE_ID_BYTES_MAX: Final = 255
EXPANSIONS: Final = frozenset({"payments", "confirmation_secret"})


# ---- links -------------------------------------------------------------------------------------


def invoice_token(ring: KeyRing, invoice_id: str) -> str:
    mac = ring.fingerprint(_LINK_LABEL + invoice_id)[:_TOKEN_MAC_BYTES]
    return base64.urlsafe_b64encode(mac + invoice_id.encode()).decode().rstrip("=")


def invoice_id_of_token(ring: KeyRing, token: str) -> str | None:
    """The invoice a link's token names, or None when the token is not one of ours."""
    if len(token) > 2 * (_TOKEN_MAC_BYTES + _INVOICE_ID_BYTES_MAX):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        invoice_id = raw[_TOKEN_MAC_BYTES:].decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    mac = raw[:_TOKEN_MAC_BYTES]
    for fingerprint in ring.fingerprints(_LINK_LABEL + invoice_id):
        if invoice_id and hmac.compare_digest(fingerprint[:_TOKEN_MAC_BYTES], mac):
            return invoice_id
    return None


def hosted_invoice_url(invoice: InvoiceRow) -> str | None:
    if invoice.status == Status.draft:
        return None
    config = CONFIG.current()
    return f"{config.public_url}{PAGE_PATH}{invoice_token(config.ring, invoice.id)}"


def invoice_pdf_url(invoice: InvoiceRow) -> str | None:
    hosted = hosted_invoice_url(invoice)
    return None if hosted is None else f"{hosted}/pdf"


def signed_link(path: str, object_id: str) -> str:
    """``<public url><path><token>``: a link whose token names ``object_id`` as an invoice's
    does (a credit note's PDF, ``/credit_notes/<token>/pdf``); read back with
    :func:`invoice_id_of_token`."""
    config = CONFIG.current()
    return f"{config.public_url}{path}{invoice_token(config.ring, object_id)}"


# ---- the object and its events -----------------------------------------------------------------


def taxes_of(lines: Sequence[InvoiceItemRow]) -> tuple[TaxAmount, ...]:
    return invoice_taxes([stored_taxes(line) for line in lines])


def discounts_of(invoice: InvoiceRow, lines: Sequence[InvoiceItemRow]) -> list[dict[str, Any]]:
    """Stripe's ``total_discount_amounts``: what each discount took off, over the lines."""
    summed = {entry["id"]: 0 for entry in invoice.discounts}
    for line in lines:
        for taken in line.discount_amounts:
            summed[taken["discount"]] = summed.get(taken["discount"], 0) + taken["amount"]
    return [{"discount": id, "amount": amount} for id, amount in summed.items()]


async def rendered(
    session: AsyncSession, invoice: InvoiceRow, expand: Iterable[str] = ()
) -> dict[str, Any]:
    """The invoice object: its first lines embedded, its links, and what ``expand`` names
    (``payments``, ``confirmation_secret``)."""
    lines, count = await embedded_lines(session, invoice.id)
    expanded = set(expand)
    payments = secret = None
    if invoice.payment_intent_id is not None and expanded & EXPANSIONS:
        intent = await payment_intent_service.get(
            session, acting_for(invoice.merchant_id, invoice.livemode), invoice.payment_intent_id
        )
        if "payments" in expanded:
            payments = [
                invoice_payment_object(
                    invoice, intent.status, intent.amount_received, intent.created_at
                )
            ]
        if "confirmation_secret" in expanded and invoice.status != Status.paid:
            secret = intent.client_secret
    elif "payments" in expanded:
        payments = []
    all_lines = lines if count == len(lines) else await lines_of(session, invoice.id)
    view = InvoiceView(
        lines=[line_object(line, stored_taxes(line)) for line in lines],
        lines_has_more=count > len(lines),
        lines_count=count,
        hosted_invoice_url=hosted_invoice_url(invoice),
        invoice_pdf=invoice_pdf_url(invoice),
        taxes=taxes_of(all_lines),
        discount_amounts=discounts_of(invoice, all_lines),
        payments=payments,
        confirmation_secret=secret,
    )
    return invoice_object(invoice, view)


async def announce(
    session: AsyncSession,
    invoice: InvoiceRow,
    *types: InvoiceEvent,
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    """Records ``types`` about the invoice as it stands now, in the caller's transaction."""
    await session.flush()
    rendering = await rendered(session, invoice)
    for type in types:
        await record(session, invoice, type, rendering, previous_attributes=previous_attributes)


# ---- the document: what the page, the PDF and the email show -----------------------------------


@dataclass(frozen=True, slots=True)
class DocumentLine:
    description: str
    quantity: int
    unit_amount: str
    amount: str


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """An invoice as a person reads it: amounts formatted in its currency (₹ with Indian
    grouping), dates in IST. The PDF renderer (billing/documents) takes exactly this."""

    invoice_id: str
    livemode: bool
    number: str | None
    status: str
    merchant_name: str
    gstin: str | None
    customer_name: str | None
    customer_email: str | None
    currency: str
    issued_on: str | None
    due_on: str | None
    paid_on: str | None
    lines: tuple[DocumentLine, ...]
    subtotal: str
    total: str
    amount_paid: str
    amount_due: str
    amount_remaining: str
    amount_remaining_minor: int
    description: str | None
    footer: str | None
    overdue: bool
    hosted_url: str | None
    pdf_url: str | None
    # Each tax as the totals show it, (label, amount): ("CGST 9%", "₹224.91").
    taxes: tuple[tuple[str, str], ...] = ()


def _day(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(IST).strftime("%d %b %Y")


async def invoice_document(
    session: AsyncSession, ring: KeyRing, invoice: InvoiceRow
) -> InvoiceDocument:
    def money(amount: int) -> str:
        return Money(amount, invoice.currency).format()

    lines = await lines_of(session, invoice.id)
    merchant_name = invoice.account_name or await merchant_service.business_name(
        session, invoice.merchant_id
    )
    remaining = invoice.amount_due - invoice.amount_paid
    return InvoiceDocument(
        invoice_id=invoice.id,
        livemode=invoice.livemode,
        number=invoice.number,
        status=invoice.status,
        merchant_name=merchant_name,
        # The GSTIN the invoice was issued under, else the merchant's registration on file.
        gstin=(invoice.gst or {}).get("supplier_gstin")
        or await kyc_service.approved_gstin(session, ring, invoice.merchant_id),
        customer_name=invoice.customer_name,
        customer_email=invoice.customer_email,
        currency=invoice.currency,
        issued_on=_day(invoice.finalized_at),
        due_on=_day(invoice.due_date),
        paid_on=_day(invoice.paid_at),
        lines=tuple(
            DocumentLine(
                description=line.description or "Item",
                quantity=line.quantity,
                unit_amount=money(line.unit_amount),
                amount=money(line.amount),
            )
            for line in lines
        ),
        subtotal=money(invoice.subtotal),
        total=money(invoice.total),
        amount_paid=money(invoice.amount_paid),
        amount_due=money(invoice.amount_due),
        amount_remaining=money(remaining),
        amount_remaining_minor=remaining,
        description=invoice.description,
        footer=invoice.footer,
        overdue=invoice.overdue_at is not None and invoice.status == Status.open,
        hosted_url=hosted_invoice_url(invoice),
        pdf_url=invoice_pdf_url(invoice),
        taxes=tuple((label, money(amount)) for label, amount in _tax_totals(invoice, lines)),
    )


def _percent(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _tax_totals(invoice: InvoiceRow, lines: Sequence[InvoiceItemRow]) -> list[tuple[str, int]]:
    """The invoice's taxes summed by what a reader sees: a GST rate as CGST and SGST (UTGST in
    a union territory without a legislature) at half its rate each, or IGST at the whole;
    another rate by its name and percentage."""
    totals: dict[str, int] = {}
    gst = invoice.gst or {}
    place = STATES.get(str(gst.get("place_of_supply")))
    state_half = "UTGST" if place is not None and place.state_tax == "utgst" else "SGST"
    for line in lines:
        rates = {str(rate["id"]): rate for rate in line.tax_rates or invoice.default_tax_rates}
        for tax in stored_taxes(line):
            rate = rates.get(tax.tax_rate, {})
            percent = Decimal(str(rate.get("percentage", 0)))
            parts: list[tuple[str, int]]
            if tax.cgst or tax.sgst:
                half = _percent(percent / 2)
                parts = [(f"CGST {half}%", tax.cgst), (f"{state_half} {half}%", tax.sgst)]
            elif tax.igst:
                parts = [(f"IGST {_percent(percent)}%", tax.igst)]
            else:
                name = str(rate.get("display_name") or "Tax")
                included = " (included)" if tax.inclusive else ""
                parts = [(f"{name} {_percent(percent)}%{included}", tax.amount)]
            for label, amount in parts:
                totals[label] = totals.get(label, 0) + amount
    return list(totals.items())


# ---- the GST tax invoice: its PDF and its email ------------------------------------------------


def _state(code: str) -> State:
    return State(code, state_name(code))


def _charge(rate_percent: Decimal, amount: int) -> TaxCharge:
    return TaxCharge(rate_percent, amount)


def _tax_line(
    line: InvoiceItemRow, applied: list[dict[str, Any]], gst: dict[str, Any]
) -> TaxInvoiceLine:
    """One line as the tax invoice prints it: its value before discount and without an
    inclusive tax, its discount, and its GST parts at their rates (a rate's CGST and SGST are
    each half of it)."""
    taxes = stored_taxes(line)
    inclusive = sum(tax.amount for tax in taxes if tax.inclusive)
    discount = sum(int(taken["amount"]) for taken in line.discount_amounts)
    rates = {str(rate["id"]): Decimal(str(rate["percentage"])) for rate in applied}
    cgst = sgst = igst = None
    gst_taxes = [tax for tax in taxes if tax.cgst or tax.sgst or tax.igst]
    if gst_taxes:
        percent = sum((rates.get(tax.tax_rate, Decimal(0)) for tax in gst_taxes), Decimal(0))
        if gst["supply_type"] == "intra_state":
            half = (percent / 2).normalize()
            cgst = _charge(half, sum(tax.cgst for tax in gst_taxes))
            sgst = _charge(half, sum(tax.sgst for tax in gst_taxes))
        else:
            igst = _charge(percent.normalize(), sum(tax.igst for tax in gst_taxes))
    return TaxInvoiceLine(
        description=line.description or "Item",
        quantity=line.quantity,
        unit_amount=line.unit_amount,
        amount=line.amount - inclusive,
        hsn_sac=line.hsn_sac,
        discount=discount,
        cgst=cgst,
        sgst=sgst,
        igst=igst,
    )


async def tax_invoice(session: AsyncSession, invoice: InvoiceRow) -> TaxInvoice | None:
    """The finalized invoice as a GST tax invoice (billing/documents), or None when it cannot
    be one: a draft, no GST (the merchant has no GSTIN), or no lines."""
    gst = invoice.gst
    if invoice.status == Status.draft or gst is None or invoice.number is None:
        return None
    lines = await lines_of(session, invoice.id)
    if not lines:
        return None
    finalized = invoice.finalized_at or invoice.created_at
    year = financial_year_at(finalized)
    customer_gstin = gst["customer_gstin"]
    address = invoice.customer_address or {}
    # What the customer's credit and credit notes issued before payment took off what was
    # due (the PDF's "Applied balance"); a debt the invoice collected from the balance is not
    # part of this supply's value, so what was paid is shown up to the total.
    spent = (invoice.ending_balance or 0) - (invoice.starting_balance or 0)
    credited = min(max(spent, 0) + (invoice.pre_payment_credit_notes_amount or 0), invoice.total)
    # A line's own rates, or else the invoice's defaults, as its taxes were computed.
    document_lines = [
        _tax_line(line, line.tax_rates or invoice.default_tax_rates, gst) for line in lines
    ]
    return TaxInvoice(
        kind=DocumentKind.invoice,
        number=invoice.number,
        issue_date=finalized.astimezone(IST).date(),
        financial_year=f"{year}-{(year + 1) % 100:02d}",
        supplier=Party(
            name=invoice.account_name or "Merchant",
            gstin=gst["supplier_gstin"],
            state=_state(gst["supplier_state"]),
        ),
        recipient=Party(
            name=invoice.customer_name or invoice.customer_email or "Customer",
            address_lines=tuple(
                str(address[key])
                for key in ("line1", "line2", "city", "postal_code")
                if address.get(key)
            ),
            gstin=customer_gstin,
            state=_state(customer_gstin[:2]) if customer_gstin else None,
        ),
        place_of_supply=_state(gst["place_of_supply"]),
        currency=invoice.currency,
        lines=tuple(document_lines),
        due_date=invoice.due_date.astimezone(IST).date() if invoice.due_date else None,
        amount_paid=min(invoice.amount_paid, max(invoice.total - credited, 0)),
        balance_applied=credited,
        notes=invoice.description,
        footer=invoice.footer,
    )


async def invoice_pdf(session: AsyncSession, ring: KeyRing, invoice: InvoiceRow) -> bytes:
    """The invoice's PDF: the GST tax invoice billing/documents renders, or, for an invoice
    without GST (a merchant with no GSTIN), a one-page PDF of its text."""
    document = await tax_invoice(session, invoice)
    if document is not None:
        return await document_service.render_pdf(document)
    return invoice_pdf_bytes(await invoice_document(session, ring, invoice))


async def pdf_of_token(session: AsyncSession, ring: KeyRing, token: str) -> tuple[str, bytes]:
    """The PDF a link's token names and the file name it is served under; 404 as the page."""
    page = await invoice_page(session, ring, token)
    invoice = await session.get(InvoiceRow, page.document.invoice_id)
    assert invoice is not None  # the page found it
    name = (invoice.number or invoice.id).replace("/", "-")
    return f"Invoice-{name}.pdf", await invoice_pdf(session, ring, invoice)


def text_pdf(rows: Sequence[str]) -> bytes:
    """A one-page PDF of ``rows`` (a document without GST: a credit note's too)."""
    return _text_pdf(rows)


def invoice_pdf_bytes(document: InvoiceDocument) -> bytes:
    """The PDF of an invoice without GST (no GST tax invoice can be made of it): one page of
    the invoice's text in a standard font."""
    title = f"Invoice {document.number or document.invoice_id}"
    rows = [
        title,
        f"From: {document.merchant_name}"
        + (f" (GSTIN {document.gstin})" if document.gstin else ""),
        f"To: {document.customer_name or document.customer_email or 'Customer'}",
        f"Issued: {document.issued_on or '-'}   Due: {document.due_on or '-'}",
        "",
        *(f"{line.description}  x{line.quantity}  {line.amount}" for line in document.lines),
        "",
        f"Subtotal: {document.subtotal}",
        *(f"{label}: {amount}" for label, amount in document.taxes),
        f"Total: {document.total}",
        f"Amount paid: {document.amount_paid}",
        f"Amount remaining: {document.amount_remaining}",
    ]
    return _text_pdf(rows)


# A minimal PDF (ISO 32000-1): one page, Helvetica, WinAnsi text; what cannot be written in it
# (₹) is written as "Rs. ".
_PDF_LEADING_PT: Final = 16
_PDF_TOP_PT: Final = 800
_PDF_LINES_MAX: Final = 45


def _pdf_text(text: str) -> str:
    text = text.replace("₹", "Rs. ")
    text = text.encode("cp1252", "replace").decode("cp1252")
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _text_pdf(rows: Sequence[str]) -> bytes:
    shown = list(rows[:_PDF_LINES_MAX])
    commands = [f"BT /F1 11 Tf {_PDF_LEADING_PT} TL 50 {_PDF_TOP_PT} Td"]
    commands += [f"({_pdf_text(row)}) '" for row in shown]
    commands.append("ET")
    stream = "\n".join(commands).encode("cp1252", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    table = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{table}\n%%EOF\n".encode()
    )
    return bytes(out)


# ---- the hosted page ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InvoicePage:
    """What the hosted invoice page shows: the document, whether it can be paid, and where its
    PaymentIntent's last attempt stands (a UPI link to pay in an app, a page the customer left,
    the reason the last attempt failed)."""

    document: InvoiceDocument
    token: str
    payable: bool
    intent_status: str | None
    upi_link: str | None
    action_url: str | None
    last_error_code: str | None


def upi_link_for(link: str, number: str | None) -> str:
    """The rail's ``upi://pay`` link with the invoice number as the transaction reference
    (``tr``) and note (``tn``) a payer's UPI app shows, values percent-encoded."""
    query = dict(parse_qsl(urlsplit(link).query, keep_blank_values=True))
    if number is not None:
        query["tr"] = number
        query["tn"] = f"Invoice {number}"
    return "upi://pay?" + "&".join(
        f"{key}={quote(value, safe='@.')}" for key, value in query.items()
    )


async def invoice_page(session: AsyncSession, ring: KeyRing, token: str) -> InvoicePage:
    """The page a link shows; 404 for a token that is not ours or an invoice not finalized."""
    invoice_id = invoice_id_of_token(ring, token)
    invoice = await session.get(InvoiceRow, invoice_id) if invoice_id is not None else None
    if invoice is None or invoice.status == Status.draft:
        raise ResourceMissingError("No such invoice.")
    document = await invoice_document(session, ring, invoice)
    status = upi = action = error = None
    if invoice.payment_intent_id is not None:
        intent = await payment_intent_service.get(
            session, acting_for(invoice.merchant_id, invoice.livemode), invoice.payment_intent_id
        )
        status = intent.status
        next_action = intent.next_action or {}
        if next_action.get("type") == "upi_intent":
            upi = upi_link_for(str(next_action["upi_intent"]["url"]), invoice.number)
        elif next_action.get("type") == "redirect_to_url":
            action = str(next_action["redirect_to_url"]["url"])
        if intent.last_payment_error:
            error = str(intent.last_payment_error.get("decline_code") or "") or str(
                intent.last_payment_error.get("code")
            )
    payable = invoice.status in (Status.open, Status.uncollectible) and status not in (
        "processing",
        "succeeded",
    )
    return InvoicePage(document, token, payable, status, upi, action, error)


# ---- the email ---------------------------------------------------------------------------------


def _email_text(document: InvoiceDocument) -> str:
    lines = [f"Invoice {document.number} from {document.merchant_name}", ""]
    if not document.livemode:
        lines += ["(Test mode: no money moves.)", ""]
    if document.status == Status.paid:
        lines.append(f"Amount paid: {document.amount_paid}")
    else:
        lines.append(f"Amount due: {document.amount_remaining}")
        if document.due_on:
            lines.append(f"Due: {document.due_on}")
    lines += ["", "Items:"]
    lines += [f"- {line.description} x{line.quantity}: {line.amount}" for line in document.lines]
    lines += ["", *(f"{label}: {amount}" for label, amount in document.taxes)]
    lines += [f"Total: {document.total}", ""]
    lines.append(f"View and pay the invoice: {document.hosted_url}")
    lines.append(f"Download it as a PDF: {document.pdf_url}")
    return "\n".join(lines) + "\n"


async def compose_invoice_email(session: AsyncSession, addressed: Addressed) -> ComposedEmail:
    """The email of a sent invoice (notifications' composer for ``invoice``): the GST tax
    invoice's email with its PDF attached (billing/documents' composer), or, for an invoice
    without GST, a plain message with the amount, the due date and the hosted link."""
    invoice = await session.get(InvoiceRow, addressed.subject_id)
    if invoice is None:  # deleted drafts are never sent; an id here names a finalized invoice
        raise LookupError(addressed.subject_id)
    issued = await tax_invoice(session, invoice)
    if issued is not None:
        email = DocumentEmail(issued, payment_url=hosted_invoice_url(invoice))

        async def load(_session: AsyncSession, _id: str) -> DocumentEmail:
            return email

        return await document_service.composer(load)(session, addressed)
    document = await invoice_document(session, CONFIG.current().ring, invoice)
    subject = f"Invoice {document.number} from {document.merchant_name}"
    if document.status != Status.paid:
        subject += f": {document.amount_remaining} due"
        if document.due_on:
            subject += f" by {document.due_on}"
    return ComposedEmail(
        from_name=document.merchant_name, subject=subject, text=_email_text(document)
    )
