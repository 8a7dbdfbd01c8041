"""The GST tax invoice: the PDF behind ``invoice_pdf`` read back with pdftotext (GSTINs, HSN/SAC,
CGST + SGST within a state or IGST across, the amount in words), and the sent invoice's email
carrying it as an attachment."""

from __future__ import annotations

import subprocess
from typing import Any

import httpx

from beyondpay.db.session import Database
from tests.billing.invoices.support import ok
from tests.billing.wiring.test_gst import MERCHANT_GSTIN, gst_customer, gst_rate, gstin, registered
from tests.billing.wiring.test_pricing import product_price
from tests.notifications.support import sandbox_emails, send_queued
from tests.payments.support import post
from tests.support import TestMerchant

TOOL_TIMEOUT_S = 30


def pdf_text(pdf: bytes) -> str:
    done = subprocess.run(
        ["pdftotext", "-layout", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
        timeout=TOOL_TIMEOUT_S,
    )
    return done.stdout.decode()


async def issued(
    client: httpx.AsyncClient, merchant: TestMerchant, state: str, **invoice: Any
) -> dict[str, Any]:
    """A finalized invoice of one priced line (SAC 998222, ₹1,000 + 18% GST) to a customer
    registered in ``state``."""
    await registered(client, merchant)
    rate = await gst_rate(client, merchant)
    buyer = await gst_customer(client, merchant, state)
    price = await product_price(client, merchant, 100_000)
    drafted = await ok(
        await post(
            client,
            merchant,
            "/v1/invoices",
            customer=buyer["id"],
            **{"default_tax_rates[0]": rate},
            **invoice,
        )
    )
    await ok(
        await post(
            client,
            merchant,
            "/v1/invoiceitems",
            invoice=drafted["id"],
            **{"pricing[price]": price["id"]},
        )
    )
    return await ok(await post(client, merchant, f"/v1/invoices/{drafted['id']}/finalize"))


async def test_the_pdf_is_a_gst_tax_invoice_with_cgst_and_sgst_within_the_state(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    invoice = await issued(client, merchant, "27")
    response = await client.get(httpx.URL(invoice["invoice_pdf"]).path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in (
        "Tax Invoice",
        invoice["number"],
        MERCHANT_GSTIN,
        gstin("27"),
        "998222",
        "CGST",
        "SGST",
        "Maharashtra (27)",
        "One Thousand One Hundred Eighty",
    ):
        assert expected in text, (expected, text)
    assert "IGST" not in text


async def test_across_states_the_pdf_charges_igst(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    invoice = await issued(client, merchant, "29")
    text = pdf_text((await client.get(httpx.URL(invoice["invoice_pdf"]).path)).content)
    assert "IGST" in text and "CGST" not in text and gstin("29") in text
    assert "Karnataka (29)" in text


async def test_the_sent_invoice_carries_its_pdf(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    invoice = await issued(client, merchant, "27", collection_method="send_invoice")
    await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/send"))
    await send_queued(database)
    [email] = [
        found
        for found in await sandbox_emails(client, merchant)
        if invoice["number"] in (found.get("subject") or "")
    ]
    [attachment] = email["attachments"]
    assert attachment["filename"] == f"Invoice-{invoice['number'].replace('/', '-')}.pdf"
    assert attachment["content_type"] == "application/pdf" and attachment["size_bytes"] > 0
