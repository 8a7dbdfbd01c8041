"""The hosted invoice page over HTTP (the browser test is test_browser.py): what it shows, its
headers, its CSRF check, and paying on it by card (with and without 3-D Secure, declined), by
UPI (a QR code and a ``upi://pay`` link with the invoice number as ``tr``, paid by the sandbox
payer) and by net banking (the sandbox bank's page); its PDF; links that are not ours."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

import httpx

from beyondpay.db.session import Database
from tests.billing.invoices.support import customer, draft, events_of, ok
from tests.payments.support import deliver_callbacks, get, post
from tests.support import TestMerchant

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def _open_invoice(
    client: httpx.AsyncClient, merchant: TestMerchant, amount: int = 249_900
) -> tuple[dict[str, Any], str]:
    """A send_invoice invoice, finalized; its page's path."""
    buyer = await customer(client, merchant, card=None)
    invoice = await draft(
        client, merchant, buyer["id"], (amount,), collection_method="send_invoice"
    )
    opened = await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/finalize"))
    return opened, httpx.URL(opened["hosted_invoice_url"]).path


async def _page(client: httpx.AsyncClient, path: str) -> tuple[httpx.Response, str]:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    found = _CSRF.search(response.text)
    return response, found.group(1) if found else ""


async def _pay(client: httpx.AsyncClient, path: str, **form: str) -> httpx.Response:
    _, csrf = await _page(client, path)
    return await client.post(f"{path}/pay", data={"csrf": csrf, **form})


def _card(number: str) -> dict[str, str]:
    return {"method": "card", "number": number, "exp_month": "12", "exp_year": "34", "cvc": "123"}


async def test_the_page_shows_the_invoice_with_strict_headers(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    invoice, path = await _open_invoice(client, merchant)
    response, csrf = await _page(client, path)
    policy = response.headers["content-security-policy"]
    assert "form-action 'self'" in policy and "script-src" not in policy
    assert "default-src 'none'" in policy
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    cookie = response.headers["set-cookie"]
    assert "bp_csrf=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert csrf
    html = response.text
    assert f"Invoice {invoice['number']}" in html and "₹2,499.00" in html
    assert "Item 1" in html and 'data-testid="status">Due<' in html
    assert "<script" not in html and "upi://" not in html
    pdf = await client.get(f"{path}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-") and invoice["number"].encode() in pdf.content
    for bad in ("/invoices/nope", "/invoices/" + "A" * 40, "/invoices/nope/pdf"):
        assert (await client.get(bad)).status_code == 404


async def test_a_form_without_its_csrf_token_is_refused(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    invoice, path = await _open_invoice(client, merchant)
    await _page(client, path)
    for token in ("", "forged"):
        refused = await client.post(
            f"{path}/pay", data={"csrf": token, **_card("4242424242424242")}
        )
        assert refused.status_code == 303 and refused.headers["location"].endswith("?error=csrf")
    # Another invoice's token is no good here either.
    _, other_path = await _open_invoice(client, merchant)
    _, other_csrf = await _page(client, other_path)
    crossed = await client.post(
        f"{path}/pay", data={"csrf": other_csrf, **_card("4242424242424242")}
    )
    assert crossed.headers["location"].endswith("?error=csrf")
    shown = await client.get(crossed.headers["location"])
    assert "This page expired" in shown.text
    assert (await get(client, merchant, f"/v1/invoices/{invoice['id']}"))["status"] == "open"
    assert "invoice.paid" not in await events_of(database, invoice["id"])


async def test_paying_by_card_on_the_page(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    invoice, path = await _open_invoice(client, merchant)
    declined = await _pay(client, path, **_card("4000000000000002"))
    assert declined.status_code == 303 and "error=" in declined.headers["location"]
    shown = await client.get(declined.headers["location"])
    assert "Your card was declined" in shown.text
    paid = await _pay(client, path, **_card("4242 4242 4242 4242"))
    assert paid.status_code == 303 and paid.headers["location"] == path
    after = await client.get(path)
    assert 'data-testid="status">Paid<' in after.text and "pay-card" not in after.text
    found = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
    assert found["status"] == "paid" and found["attempt_count"] == 1
    assert await events_of(database, invoice["id"]) == [
        "invoice.created",
        "invoice.finalized",
        "invoice.payment_failed",
        "invoice.payment_succeeded",
        "invoice.paid",
    ]
    # The form posted again (a second tab) pays nothing more.
    again = await client.post(
        f"{path}/pay", data={"csrf": _CSRF.search(shown.text).group(1), **_card("4242424242424242")}
    )  # type: ignore[union-attr]
    assert again.status_code == 303 and again.headers["location"] == path


async def test_bad_card_details_are_said_without_repeating_them(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    _, path = await _open_invoice(client, merchant)
    wrong = await _pay(client, path, **_card("4242424242424241"))
    assert wrong.headers["location"].endswith("?error=incorrect_number")
    page = await client.get(wrong.headers["location"])
    assert "Your card number is incorrect" in page.text and "4242424242424241" not in page.text
    missing = await _pay(client, path, method="card", number="4242424242424242")
    assert missing.headers["location"].endswith("?error=form")
    unknown = await _pay(client, path, method="cash")
    assert unknown.headers["location"].endswith("?error=form")
    # An error named in the query that the page does not know shows nothing of it.
    crafted = await client.get(f"{path}?error=<script>alert(1)</script>")
    assert "<script>alert" not in crafted.text and "alert(1)" not in crafted.text


async def test_three_d_secure_on_the_page_comes_back_paid(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    invoice, path = await _open_invoice(client, merchant)
    challenged = await _pay(client, path, **_card("4000002500003155"))
    assert challenged.status_code == 303
    challenge = httpx.URL(challenged.headers["location"]).path
    assert challenge.startswith("/sandbox/3ds/")
    assert (await get(client, merchant, f"/v1/invoices/{invoice['id']}"))["status"] == "open"
    answered = await client.post(challenge, data={"outcome": "complete"})
    assert answered.status_code == 303
    assert httpx.URL(answered.headers["location"]).path == path
    assert (await get(client, merchant, f"/v1/invoices/{invoice['id']}"))["status"] == "paid"


async def test_paying_by_upi_shows_a_qr_code_and_a_link_with_the_invoice_number(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    invoice, path = await _open_invoice(client, merchant)
    waiting = await _pay(client, path, method="upi")
    assert waiting.status_code == 303 and waiting.headers["location"] == path
    page = (await client.get(path)).text
    link = re.search(r'href="(upi://pay\?[^"]+)"', page)
    assert link is not None and "<svg" in page
    query = dict(
        pair.split("=", 1)
        for pair in link.group(1).split("?", 1)[1].replace("&amp;", "&").split("&")
    )
    assert unquote(query["tr"]) == invoice["number"] and query["am"] == "2499.00"
    assert query["cu"] == "INR" and unquote(query["tn"]) == f"Invoice {invoice['number']}"
    assert (await get(client, merchant, f"/v1/invoices/{invoice['id']}"))["status"] == "open"
    assert "invoice.payment_action_required" in await events_of(database, invoice["id"])
    # The sandbox payer pays in their UPI app; the switch's callback settles it.
    assert await deliver_callbacks(database) >= 1
    assert (await get(client, merchant, f"/v1/invoices/{invoice['id']}"))["status"] == "paid"
    assert 'data-testid="status">Paid<' in (await client.get(path)).text


async def test_paying_by_net_banking_goes_through_the_bank_page(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    invoice, path = await _open_invoice(client, merchant)
    redirected = await _pay(client, path, method="netbanking", bank="HDFC")
    bank = httpx.URL(redirected.headers["location"]).path
    assert redirected.status_code == 303 and bank.startswith("/sandbox/bank/")
    answered = await client.post(bank, data={"outcome": "complete"})
    assert httpx.URL(answered.headers["location"]).path == path
    assert (await get(client, merchant, f"/v1/invoices/{invoice['id']}"))["status"] == "paid"


async def test_a_void_invoice_page_offers_no_payment(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    invoice, path = await _open_invoice(client, merchant)
    _, csrf = await _page(client, path)  # a tab opened before the invoice was voided
    await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/void"))
    page = await client.get(path)
    assert 'data-testid="status">Void<' in page.text and "pay-card" not in page.text
    refused = await client.post(f"{path}/pay", data={"csrf": csrf, **_card("4242424242424242")})
    assert refused.headers["location"] == path
    assert (await get(client, merchant, f"/v1/invoices/{invoice['id']}"))["status"] == "void"


async def test_the_page_shows_each_tax_and_the_gstin_it_was_issued_under(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    """IGST to a customer in another state (Chandigarh), CGST + SGST at half the rate each to
    one in the merchant's (Maharashtra), and a tax that is not GST by its name."""
    await ok(await post(client, merchant, "/v1/tax_ids", type="in_gst", value="27AAPFU0939F1ZV"))
    gst = await ok(
        await post(
            client,
            merchant,
            "/v1/tax_rates",
            display_name="GST",
            percentage="18",
            inclusive="false",
            tax_type="gst",
        )
    )
    cess = await ok(
        await post(
            client,
            merchant,
            "/v1/tax_rates",
            display_name="Cess",
            percentage="1",
            inclusive="false",
        )
    )
    for state, expected in (
        ("CH", ["IGST 18% ₹180.00", "Cess 1% ₹10.00"]),
        ("MH", ["CGST 9% ₹90.00", "SGST 9% ₹90.00", "Cess 1% ₹10.00"]),
    ):
        buyer = await customer(
            client, merchant, card=None, **{"address[state]": state, "address[country]": "IN"}
        )
        invoice = await draft(
            client,
            merchant,
            buyer["id"],
            (100_000,),
            collection_method="send_invoice",
            **{"default_tax_rates[0]": gst["id"], "default_tax_rates[1]": cess["id"]},
        )
        opened = await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/finalize"))
        response, _ = await _page(client, httpx.URL(opened["hosted_invoice_url"]).path)
        rows = re.findall(
            r'<tr data-testid="tax"><th scope="row" colspan="2">([^<]+)</th>'
            r'<td class="number">([^<]+)</td>',
            response.text,
        )
        assert [f"{label} {amount}" for label, amount in rows] == expected
        assert "27AAPFU0939F1ZV" in response.text
