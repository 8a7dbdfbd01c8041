"""The hosted receipt over HTTP: what it shows (₹ with Indian grouping, the masked card, the
merchant's legal name and GSTIN or a slot for it, IST), the headers every page carries, and
links that are not ours."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from beyondpay.db.session import Database
from beyondpay.web.pages import CONTENT_SECURITY_POLICY
from tests.support import TestMerchant
from tests.web.support import paid_charge, register_gstin


def _path(url: str) -> str:
    return urlsplit(url).path


async def test_the_receipt_shows_the_payment_and_the_seller(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    gstin = await register_gstin(database, merchant)
    charge = await paid_charge(client, merchant, description="Annual plan")
    page = await client.get(_path(charge["receipt_url"]))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src" not in CONTENT_SECURITY_POLICY  # default-src 'none': no script at all
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-store"
    html = page.text
    assert '<html lang="en">' in html and "<title>Receipt from Acme</title>" in html
    assert "₹1,00,000.00" in html
    assert "Visa •••• 4242" in html and "4242424242424242" not in html
    assert "Annual plan" in html and gstin in html
    assert "IST" in html
    assert "<script" not in html and " style=" not in html  # nothing inline for the CSP
    stylesheet = await client.get("/static/pages.css")
    assert stylesheet.status_code == 200
    assert stylesheet.headers["content-type"].startswith("text/css")


async def test_a_merchant_without_gst_gets_a_clear_slot_and_refunds_show(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    charge = await paid_charge(client, merchant, amount="150000")
    refund = await client.post(
        "/v1/refunds", data={"charge": charge["id"], "amount": "50000"}, headers=merchant.auth()
    )
    assert refund.status_code == 200, refund.text
    html = (await client.get(_path(charge["receipt_url"]))).text
    assert "₹1,500.00" in html and "₹500.00" in html and "₹1,000.00" in html
    assert "Partially refunded" in html
    assert "Not provided: the seller has no GST registration on file" in html
    assert "Test mode" in html


async def test_links_that_are_not_ours_answer_404(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    charge = await paid_charge(client, merchant)
    token = _path(charge["receipt_url"]).rsplit("/", 1)[1]
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    for path in (
        f"/receipts/{tampered}",
        f"/receipts/{charge['id']}",
        "/receipts/x",
        "/receipts/" + "A" * 700,
    ):
        answer = await client.get(path)
        assert answer.status_code in (400, 404), path
        assert charge["id"] not in answer.text
    missing = await client.get(f"/receipts/{tampered}")
    assert missing.status_code == 404 and "Receipt not found" in missing.text
    assert missing.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
