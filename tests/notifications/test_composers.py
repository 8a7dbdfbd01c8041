"""Messages composed by the module that owns what they are about (billing's invoices): the row
keeps a reference, the job asks the registered composer for the message when it sends it, and
the sink receives what the composer attached."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from beyondpay.db.session import Database
from beyondpay.kit.invariants import InvariantError
from beyondpay.notifications import composers
from beyondpay.notifications.service import (
    Addressed,
    Attachment,
    ComposedEmail,
    Kind,
    notification_service,
    register_composer,
)
from tests.notifications.support import queued_sends, sandbox_emails, send_queued
from tests.support import TestMerchant

REPORT = b"%PDF-1.3 not really a PDF, but bytes to carry\n"


@pytest.fixture
def composed(monkeypatch: pytest.MonkeyPatch) -> list[Addressed]:
    """A composer of invoice emails for this test (the registry is restored after it)."""
    asked: list[Addressed] = []

    async def compose(session: object, addressed: Addressed) -> ComposedEmail:
        asked.append(addressed)
        return ComposedEmail(
            from_name="Asha Textiles",
            subject=f"Your invoice #{addressed.subject_id}",
            text="Your invoice is attached.",
            html="<p>Your invoice is attached.</p>",
            attachments=(Attachment("Invoice-42.pdf", "application/pdf", REPORT),),
        )

    monkeypatch.setitem(composers._composers, Kind.invoice, compose)
    return asked


async def test_the_job_sends_what_the_registered_composer_gives(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    database: Database,
    composed: list[Addressed],
) -> None:
    async with database.unit_of_work() as session:
        row = await notification_service.queue_email(
            session,
            merchant_id=merchant.id,
            livemode=False,
            kind=Kind.invoice,
            subject_id="in_42",
            recipient="accounts@deccan.example",
        )
    assert composed == []  # composed when sent, not when queued
    assert await send_queued(database) == [row.id]

    assert composed == [
        Addressed(
            notification_id=row.id,
            merchant_id=merchant.id,
            livemode=False,
            kind=Kind.invoice,
            subject_id="in_42",
            recipient="accounts@deccan.example",
        )
    ]
    [email] = await sandbox_emails(client, merchant, related="in_42")
    assert email["kind"] == "invoice" and email["subject"] == "Your invoice #in_42"
    assert email["recipients"] == ["accounts@deccan.example"]
    assert email["text"].strip() == "Your invoice is attached."
    assert email["html"] is not None and "attached" in email["html"]
    assert email["attachments"] == [
        {
            "filename": "Invoice-42.pdf",
            "content_type": "application/pdf",
            "size_bytes": len(REPORT),
            "sha256": hashlib.sha256(REPORT).hexdigest(),
        }
    ]
    # Sent once: a second run finds it sent.
    await send_queued(database)
    assert len(composed) == 1


async def test_a_kind_without_its_composer_is_refused_when_queued(
    merchant: TestMerchant, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(composers._composers, Kind.credit_note, raising=False)
    with pytest.raises(InvariantError, match="composer is registered for credit_note"):
        async with database.unit_of_work() as session:
            await notification_service.queue_email(
                session,
                merchant_id=merchant.id,
                livemode=False,
                kind=Kind.credit_note,
                subject_id="cn_1",
                recipient="a@example.com",
            )
    assert await queued_sends(database) == []


def test_receipts_are_composed_by_notifications_alone() -> None:
    async def compose(session: object, addressed: Addressed) -> ComposedEmail:
        raise AssertionError("never called")

    with pytest.raises(InvariantError, match="receipts are composed"):
        register_composer(Kind.receipt, compose)


@pytest.mark.parametrize(
    ("filename", "content_type", "data"),
    [
        ("../etc/passwd", "text/plain", b"x"),
        ("a\r\nBcc: x@example.com", "text/plain", b"x"),
        ("a.txt", "text", b"x"),
        ("a.txt", "text/plain", b""),
    ],
)
def test_an_attachment_is_a_bare_name_a_type_and_some_bytes(
    filename: str, content_type: str, data: bytes
) -> None:
    with pytest.raises(InvariantError):
        Attachment(filename, content_type, data)
