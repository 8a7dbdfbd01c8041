"""Billing documents' use cases, as the parts above (invoices, credit notes) reach them. Never
commits: the request or the job owns the transaction.

- ``document_service.render_pdf(document)``: the PDF of an ``InvoiceDocument`` (an invoice's
  ``invoice_pdf``), rendered in a thread; the same document always gives the same bytes.
- ``document_service.queue_email(session, …)``: the document's email, PDF attached, into the
  notifications outbox in the caller's transaction; it is sent after commit.
- ``document_service.composer(load)``: what the owner of the documents registers with
  notifications (``register_composer``, in ``app.wire_modules``) so that the sending job can
  rebuild the email: ``load(session, document_id)`` gives the ``DocumentEmail`` (the document
  as it stands, its payment link), and the composer renders the PDF and the message.

Why a reference and a composer rather than the PDF in the outbox: the outbox row stays small
(some 30 kB a page is not written twice, nor kept after sending), a document that the owner
may still change (an invoice's ``amount_paid``) is sent as it is when the email goes, and a
resend after a crash rebuilds the same bytes (the rendering is deterministic).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.documents.domain import (
    CreditNoteReference,
    DocumentEmail,
    DocumentKind,
    DocumentLine,
    InvalidDocumentError,
    InvoiceDocument,
    Party,
    State,
    TaxCharge,
)
from beyondpay.billing.documents.emails import document_message, pdf_filename
from beyondpay.billing.documents.pdf import render_pdf_async
from beyondpay.billing.documents.words import rupees_in_words
from beyondpay.kit.invariants import invariant
from beyondpay.notifications.service import (
    Addressed,
    ComposedEmail,
    Composer,
    Kind,
    notification_service,
)

__all__ = [
    "CreditNoteReference",
    "DocumentEmail",
    "DocumentKind",
    "DocumentLine",
    "DocumentLoader",
    "DocumentService",
    "InvalidDocumentError",
    "InvoiceDocument",
    "Party",
    "State",
    "TaxCharge",
    "document_service",
    "notification_kind",
    "rupees_in_words",
]

DocumentLoader = Callable[[AsyncSession, str], Awaitable[DocumentEmail]]

_NOTIFICATION_KINDS = {
    DocumentKind.invoice: Kind.invoice,
    DocumentKind.credit_note: Kind.credit_note,
}


def notification_kind(kind: DocumentKind) -> Kind:
    """The notifications kind a document's email is queued under, and its composer registered
    for."""
    return _NOTIFICATION_KINDS[kind]


class DocumentService:
    async def render_pdf(self, document: InvoiceDocument) -> bytes:
        """The document's PDF (CPU work in a thread, no I/O)."""
        return await render_pdf_async(document)

    def pdf_filename(self, document: InvoiceDocument) -> str:
        """The name its PDF is attached or downloaded under: "Invoice-ASHA-25-26-0042.pdf"."""
        return pdf_filename(document)

    async def queue_email(
        self,
        session: AsyncSession,
        *,
        merchant_id: str,
        livemode: bool,
        kind: DocumentKind,
        document_id: str,
        recipient: str,
    ) -> str:
        """The email of document ``document_id`` (an ``in_…`` or ``cn_…``) to ``recipient``,
        into the outbox with the job that sends it, in the caller's transaction; returns the
        notification's id. The composer for ``kind`` must be registered (``composer``)."""
        row = await notification_service.queue_email(
            session,
            merchant_id=merchant_id,
            livemode=livemode,
            kind=notification_kind(kind),
            subject_id=document_id,
            recipient=recipient,
        )
        return row.id

    def composer(self, load: DocumentLoader) -> Composer:
        """The notifications composer for a kind of document, from its owner's ``load``."""

        async def compose(session: AsyncSession, addressed: Addressed) -> ComposedEmail:
            email = await load(session, addressed.subject_id)
            invariant(
                notification_kind(email.document.kind) == addressed.kind,
                "the loaded document is of the kind the email was queued as",
            )
            pdf = await render_pdf_async(email.document)
            return document_message(email, pdf, livemode=addressed.livemode)

        return compose


document_service = DocumentService()
