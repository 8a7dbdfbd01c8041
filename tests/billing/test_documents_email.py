"""An invoice or credit note emailed with its PDF: queued in the caller's transaction (a
rollback sends nothing), composed when the job sends it from the owner's loader, and received
by the test-mode SMTP sink with the PDF attached, the very bytes the document renders to."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.billing.documents.pdf import render_pdf
from beyondpay.billing.documents.service import (
    DocumentEmail,
    DocumentKind,
    InvoiceDocument,
    document_service,
    notification_kind,
)
from beyondpay.db.session import Database
from beyondpay.kit.invariants import InvariantError
from beyondpay.notifications import composers
from tests.billing.documents_samples import TOTAL_MINOR, credit_note, invoice
from tests.notifications.support import queued_sends, sandbox_emails, send_queued
from tests.support import TestMerchant

PAY_URL = "https://pay.example/invoices/inv_test_secret"

Documents = dict[str, DocumentEmail]


@pytest.fixture
def documents(monkeypatch: pytest.MonkeyPatch) -> Documents:
    """The owner of the documents, as invoices will be: their emails by id, and the composers
    built from its loader registered for invoices and credit notes (restored after the test)."""
    held: Documents = {}

    async def load(session: AsyncSession, document_id: str) -> DocumentEmail:
        return held[document_id]

    for kind in DocumentKind:
        composer = document_service.composer(load)
        monkeypatch.setitem(composers._composers, notification_kind(kind), composer)
    return held


def _sha256(document: InvoiceDocument) -> str:
    return hashlib.sha256(render_pdf(document)).hexdigest()


async def _queue(
    database: Database, merchant: TestMerchant, kind: DocumentKind, document_id: str
) -> str:
    async with database.unit_of_work() as session:
        return await document_service.queue_email(
            session,
            merchant_id=merchant.id,
            livemode=False,
            kind=kind,
            document_id=document_id,
            recipient="accounts@deccan.example",
        )


async def test_an_invoice_is_emailed_with_its_pdf(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, documents: Documents
) -> None:
    document = invoice()
    documents["in_1"] = DocumentEmail(document, payment_url=PAY_URL, message="Thank you!")
    notification_id = await _queue(database, merchant, DocumentKind.invoice, "in_1")
    assert await sandbox_emails(client, merchant) == []  # nothing before the job runs

    assert await send_queued(database) == [notification_id]
    [email] = await sandbox_emails(client, merchant, related="in_1")
    assert email["id"] == notification_id and email["kind"] == "invoice"
    assert email["subject"] == "Your invoice from Asha Textiles Private Limited #ASHA/25-26/0042"
    assert email["recipients"] == ["accounts@deccan.example"]
    text = email["text"]
    for expected in (
        "Tax Invoice ASHA/25-26/0042 from Asha Textiles Private Limited",
        "(Test mode: no money moved.)",
        "Invoice total: ₹1,49,950.00",
        "Amount due: ₹1,49,950.00",
        "Due date: 31 May 2025",
        "Thank you!",
        f"Pay online: {PAY_URL}",
        "attached as a PDF (Invoice-ASHA-25-26-0042.pdf)",
    ):
        assert expected in text, expected
    assert email["html"] is not None and f'<a href="{PAY_URL}">Pay online</a>' in email["html"]
    [attachment] = email["attachments"]
    assert attachment["filename"] == "Invoice-ASHA-25-26-0042.pdf"
    assert attachment["content_type"] == "application/pdf"
    # The bytes the sink received are the document's rendering (it is deterministic).
    assert attachment["sha256"] == _sha256(document)
    pdf = await document_service.render_pdf(document)
    assert attachment["size_bytes"] == len(pdf)


async def test_a_paid_invoice_is_emailed_without_a_payment_link(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, documents: Documents
) -> None:
    documents["in_2"] = DocumentEmail(invoice(amount_paid=TOTAL_MINOR), payment_url=PAY_URL)
    await _queue(database, merchant, DocumentKind.invoice, "in_2")
    await send_queued(database)
    [email] = await sandbox_emails(client, merchant)
    assert "Paid in full" in email["text"] and "Amount paid: ₹1,49,950.00" in email["text"]
    assert PAY_URL not in email["text"] and PAY_URL not in (email["html"] or "")


async def test_a_credit_note_is_emailed_with_its_pdf(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, documents: Documents
) -> None:
    document = credit_note()
    documents["cn_1"] = DocumentEmail(document)
    await _queue(database, merchant, DocumentKind.credit_note, "cn_1")
    await send_queued(database)
    [email] = await sandbox_emails(client, merchant)
    assert email["kind"] == "credit_note" and email["related"] == "cn_1"
    assert email["subject"] == "Your credit note from Asha Textiles Private Limited #ASHA/CN/0007"
    for expected in (
        "Total credit: ₹1,234.56",
        "Against invoice: ASHA/25-26/0042",
        "Refunded to the original payment: ₹1,234.56",
    ):
        assert expected in email["text"], expected
    assert "Pay online" not in email["text"]
    [attachment] = email["attachments"]
    assert attachment["filename"] == "Credit-note-ASHA-CN-0007.pdf"
    assert attachment["sha256"] == _sha256(document)


async def test_a_rolled_back_transaction_emails_nothing(
    merchant: TestMerchant, database: Database, documents: Documents
) -> None:
    documents["in_3"] = DocumentEmail(invoice())

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned):
        async with database.unit_of_work() as session:
            await document_service.queue_email(
                session,
                merchant_id=merchant.id,
                livemode=False,
                kind=DocumentKind.invoice,
                document_id="in_3",
                recipient="accounts@deccan.example",
            )
            raise Abandoned
    assert await queued_sends(database) == []


async def test_a_loader_must_give_the_kind_the_email_was_queued_as(
    merchant: TestMerchant, database: Database, documents: Documents
) -> None:
    documents["in_4"] = DocumentEmail(credit_note())
    await _queue(database, merchant, DocumentKind.invoice, "in_4")
    with pytest.raises(InvariantError, match="of the kind the email was queued as"):
        await send_queued(database)


def test_pdf_filenames_carry_no_path(documents: Documents) -> None:
    names: Callable[[InvoiceDocument], str] = document_service.pdf_filename
    assert names(invoice()) == "Invoice-ASHA-25-26-0042.pdf"
    assert names(credit_note()) == "Credit-note-ASHA-CN-0007.pdf"
