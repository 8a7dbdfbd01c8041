"""Issue 18's hosted invoice page with the official ``stripe`` SDK and a real browser: a
``send_invoice`` invoice with ``days_until_due``, a catalog price and an 18% GST rate is created,
finalized and sent through the SDK; its ``hosted_invoice_url`` is opened in Chromium (Playwright,
as tests/web/test_browser.py drives it) at a phone's 360 px and a desktop's 1280 px, paid there
by card, and the SDK then reads it ``paid``. Screenshots are kept under ``BEYONDPAY_SHOTS_DIR``
when set, else the test's temporary directory."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from beyondpay.kit.settings import Settings
from tests.compat.server import new_merchant, sdk_client, serving
from tests.support import TEST_RING_TEXT
from tests.web import test_browser as web
from tests.web.test_browser import _LAYOUT_PROBLEMS, HEIGHT_PX, WIDTHS_PX

browser = web.browser
DAY_S = 86_400


@pytest.fixture(scope="module")
def hosted_server_url(compat_database_url: str) -> Iterator[str]:
    # public: the links the app renders (hosted_invoice_url) point at this server.
    settings = Settings(secret_keys=TEST_RING_TEXT, rate_limit_test_per_key="1000/second")
    with serving(settings, compat_database_url, run_worker=True, public=True) as url:
        yield url


@pytest.fixture
async def client(hosted_server_url: str, compat_database_url: str) -> stripe.StripeClient:
    merchant = await new_merchant(compat_database_url)
    client = sdk_client(hosted_server_url, merchant.keys["sk_test"])
    client.v1.tax_ids.create({"type": "in_gst", "value": "27AAPFU0939F1ZV"})
    return client


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("BEYONDPAY_SHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sent_invoice(client: stripe.StripeClient) -> stripe.Invoice:
    """A ₹2,499 audit (SAC 998222) at 18% GST for a customer in Maharashtra, due in 15 days,
    finalized and emailed."""
    customer = client.v1.customers.create(
        {
            "name": "Asha Rao",
            "email": "asha@example.com",
            "address": {"line1": "12 MG Road", "city": "Pune", "state": "MH", "country": "IN"},
        }
    )
    rate = client.v1.tax_rates.create(
        {"display_name": "GST", "percentage": 18, "inclusive": False, "tax_type": "gst"}
    )
    product = client.v1.products.create({"name": "Audit", "hsn_sac": "998222"})  # type: ignore[typeddict-unknown-key]
    price = client.v1.prices.create(
        {"product": product.id, "unit_amount": 249_900, "currency": "inr"}
    )
    drafted = client.v1.invoices.create(
        {
            "customer": customer.id,
            "collection_method": "send_invoice",
            "days_until_due": 15,
            "default_tax_rates": [rate.id],
            "description": "Annual audit, Pune office",
        }
    )
    client.v1.invoice_items.create(
        {"customer": customer.id, "invoice": drafted.id, "pricing": {"price": price.id}}
    )
    finalized = client.v1.invoices.finalize_invoice(drafted.id)
    assert finalized.status == "open" and finalized.due_date == finalized.created + 15 * DAY_S
    sent = client.v1.invoices.send_invoice(finalized.id)
    assert sent.status == "open" and sent.hosted_invoice_url is not None
    assert (sent.total, sent["gst"]["cgst"], sent["gst"]["sgst"]) == (294_882, 22_491, 22_491)
    return sent


async def _pay_by_card(page: Any) -> None:
    await page.fill("#card-number", "4242 4242 4242 4242")
    await page.fill("#exp-month", "12")
    await page.fill("#exp-year", "34")
    await page.fill("#cvc", "123")
    async with page.expect_navigation():
        await page.click("[data-testid=pay-card]")


async def test_a_send_invoice_invoice_is_paid_on_its_hosted_page_in_chromium(
    client: stripe.StripeClient, hosted_server_url: str, browser: Any, tmp_path: Path
) -> None:
    from axe_playwright_python.async_playwright import Axe

    shots = _shots(tmp_path)
    for width in WIDTHS_PX:
        invoice = _sent_invoice(client)
        url = str(invoice.hosted_invoice_url)
        assert url.startswith(f"{hosted_server_url}/invoices/")
        context = await browser.new_context(viewport={"width": width, "height": HEIGHT_PX})
        page = await context.new_page()
        response = await page.goto(url)
        assert response is not None and response.status == 200
        assert await page.inner_text("[data-testid=status]") == "Due"
        assert await page.inner_text("[data-testid=amount]") == "₹2,948.82"
        # The GST the invoice charges, and the GSTIN it was issued under.
        taxes = await page.locator("[data-testid=tax]").all_inner_texts()
        assert [" ".join(text.split()) for text in taxes] == [
            "CGST 9% ₹224.91",
            "SGST 9% ₹224.91",
        ]
        assert "27AAPFU0939F1ZV" in await page.inner_text("body")
        assert await page.evaluate(_LAYOUT_PROBLEMS) == []
        await page.screenshot(path=shots / f"sdk-invoice-open-{width}px.png", full_page=True)

        await _pay_by_card(page)
        assert await page.inner_text("[data-testid=status]") == "Paid"
        assert await page.evaluate(_LAYOUT_PROBLEMS) == []
        await page.screenshot(path=shots / f"sdk-invoice-paid-{width}px.png", full_page=True)
        results = await Axe().run(page)
        assert results.violations_count == 0, results.generate_report()
        await context.close()

        paid = client.v1.invoices.retrieve(invoice.id, {"expand": ["payments"]})
        assert paid.status == "paid" and paid.amount_paid == paid.total == 294_882
        assert paid.amount_remaining == 0 and paid.status_transitions.paid_at is not None
        assert paid.payments is not None and len(paid.payments.data) == 1
        assert paid.payments.data[0].status == "paid"
