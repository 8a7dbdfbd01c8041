"""The email that carries a document's PDF: its subject and bodies from Jinja2 templates
(``templates/``, the HTML autoescaped), the PDF attached. No I/O: the PDF is rendered by the
caller (``service``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from beyondpay.billing.documents.domain import (
    DocumentEmail,
    DocumentKind,
    InvoiceDocument,
    date_text,
)
from beyondpay.notifications.service import Attachment, ComposedEmail

PDF_CONTENT_TYPE: Final = "application/pdf"

_templates = Environment(
    loader=PackageLoader("beyondpay.billing.documents", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def pdf_filename(document: InvoiceDocument) -> str:
    """ "Invoice-ASHA-25-26-0042.pdf": the number's slashes would read as a path."""
    noun = "Invoice" if document.kind == DocumentKind.invoice else "Credit-note"
    return f"{noun}-{document.number.replace('/', '-')}.pdf"


def subject(document: InvoiceDocument) -> str:
    # Stripe's words for a receipt, "Your receipt from Acme #1234-5678", for the document.
    noun = "invoice" if document.kind == DocumentKind.invoice else "credit note"
    return f"Your {noun} from {document.supplier.name} #{document.number}"


@dataclass(frozen=True, slots=True)
class _View:
    """What the templates show, as text."""

    is_invoice: bool
    title: str
    number: str
    supplier_name: str
    issue_date: str
    total: str
    amount_due: str | None
    amount_paid: str | None
    due_date: str | None
    original_invoice: str | None
    refunded: str | None
    credited: str | None
    payment_url: str | None
    message: str | None
    filename: str
    livemode: bool


def _view(email: DocumentEmail, *, livemode: bool) -> _View:
    document = email.document
    reference = document.credit_note

    def money(amount: int) -> str:
        return document.money(amount).format()

    return _View(
        is_invoice=document.kind == DocumentKind.invoice,
        title=document.title(),
        number=document.number,
        supplier_name=document.supplier.name,
        issue_date=date_text(document.issue_date),
        total=money(document.total),
        amount_due=money(document.amount_due) if document.amount_due else None,
        amount_paid=money(document.amount_paid) if document.amount_paid else None,
        due_date=date_text(document.due_date) if document.due_date else None,
        original_invoice=reference.invoice_number if reference else None,
        refunded=money(reference.refund_amount) if reference and reference.refund_amount else None,
        credited=money(reference.credit_amount) if reference and reference.credit_amount else None,
        payment_url=email.payment_url if document.amount_due else None,
        message=email.message,
        filename=pdf_filename(document),
        livemode=livemode,
    )


def document_message(email: DocumentEmail, pdf: bytes, *, livemode: bool) -> ComposedEmail:
    """The email for ``email``'s document, with ``pdf`` (its rendering) attached."""
    document = email.document
    context = {"document": _view(email, livemode=livemode)}
    return ComposedEmail(
        from_name=document.supplier.name,
        subject=subject(document),
        text=_templates.get_template("document_email.txt").render(context),
        html=_templates.get_template("document_email.html").render(context),
        attachments=(Attachment(pdf_filename(document), PDF_CONTENT_TYPE, pdf),),
    )
