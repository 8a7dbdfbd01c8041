"""A credit note's PDF and email: behind ``pdf``, a GST credit note (its own number, the
original invoice's, CGST + SGST reversed) read back with pdftotext, or for an invoice without
GST a one-page PDF of its text; the email sent to the customer when it is issued carries it."""

from __future__ import annotations

import httpx

from beyondpay.db.session import Database
from tests.billing.credit_notes.support import credit_note, gst_invoice, plain_invoice
from tests.billing.invoices.support import ok
from tests.billing.wiring.test_gst import (
    MERCHANT_GSTIN,
    gst_customer,
    gst_rate,
    gstin,
    invoice_with,
    registered,
)
from tests.billing.wiring.test_tax_invoice import pdf_text
from tests.notifications.support import sandbox_emails, send_queued
from tests.payments.support import post
from tests.support import TestMerchant


async def test_a_gst_credit_note_pdf_and_its_email(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    invoice = await gst_invoice(client, merchant, "27")
    line = invoice["lines"]["data"][0]["id"]
    note = await ok(
        await credit_note(
            client,
            merchant,
            invoice["id"],
            reason="product_unsatisfactory",
            **{
                "lines[0][type]": "invoice_line_item",
                "lines[0][invoice_line_item]": line,
                "lines[0][amount]": 50_000,
            },
        )
    )
    response = await client.get(httpx.URL(note["pdf"]).path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in (
        "Credit Note",
        note["number"],
        invoice["number"],
        MERCHANT_GSTIN,
        gstin("27"),
        "CGST",
        "SGST",
        "Product unsatisfactory",
    ):
        assert expected in text, (expected, text)
    assert "IGST" not in text
    missing = await client.get("/credit_notes/nothing/pdf")
    assert missing.status_code == 404

    await send_queued(database)
    [email] = [
        found
        for found in await sandbox_emails(client, merchant)
        if found.get("subject") == f"Your credit note from Acme #{note['number']}"
    ]
    [attachment] = email["attachments"]
    assert attachment["filename"] == f"Credit-note-{note['number'].replace('/', '-')}.pdf"
    assert attachment["content_type"] == "application/pdf" and attachment["size_bytes"] > 0


async def test_a_credit_note_without_gst_is_a_page_of_text(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    invoice = await plain_invoice(client, merchant, (10_000,))
    note = await ok(await credit_note(client, merchant, invoice["id"], amount=2_500))
    text = pdf_text((await client.get(httpx.URL(note["pdf"]).path)).content)
    assert note["number"] in text and invoice["number"] in text
    assert "Credited to your balance: Rs. 25.00" in text
    await send_queued(database)
    emails = [
        found
        for found in await sandbox_emails(client, merchant)
        if note["number"] in (found.get("subject") or "")
    ]
    assert len(emails) == 1 and emails[0]["attachments"][0]["content_type"] == "application/pdf"


async def test_an_invoice_pdf_shows_the_credit_it_spent_and_renders_with_a_debt(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    await registered(client, merchant)
    rate = await gst_rate(client, merchant)
    for state, adjustment in (("27", -18_000), ("29", 5_000)):
        buyer = await gst_customer(client, merchant, state)
        await ok(
            await post(
                client,
                merchant,
                f"/v1/customers/{buyer['id']}/balance_transactions",
                amount=adjustment,
                currency="inr",
            )
        )
        drafted = await invoice_with(client, merchant, buyer, rate)
        await ok(await post(client, merchant, f"/v1/invoices/{drafted['id']}/finalize"))
        paid = await ok(await post(client, merchant, f"/v1/invoices/{drafted['id']}/pay"))
        assert paid["amount_paid"] == 118_000 + adjustment
        response = await client.get(httpx.URL(paid["invoice_pdf"]).path)
        assert response.status_code == 200, response.text
        text = pdf_text(response.content)
        assert ("Applied balance" in text) == (adjustment < 0), text
