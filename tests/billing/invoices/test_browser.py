"""A send_invoice invoice paid by card on its hosted page in a real browser (Playwright driving
Debian's Chromium, as tests/web/test_browser.py), at a phone's 360 px and a desktop's 1280 px:
the page fits the screen, loads its stylesheet under its Content-Security-Policy, passes
axe-core's rules before and after paying, and the invoice is paid; a card asking for 3-D
Secure goes to the sandbox's page and comes back paid; UPI shows its QR code.

Screenshots are kept under ``BEYONDPAY_SHOTS_DIR`` when set, else the test's temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from beyondpay.db.session import Database
from tests.billing.invoices.support import customer, draft, ok
from tests.compat.server import CLIENT_TIMEOUT_S
from tests.payments.support import get, post
from tests.support import TestMerchant
from tests.web import test_browser as web
from tests.web.support import register_gstin
from tests.web.test_browser import _LAYOUT_PROBLEMS, HEIGHT_PX, WIDTHS_PX

# The receipt's browser tests' fixtures: Chromium (skipped without it, failed in CI) and a
# server on loopback whose links point at itself.
browser = web.browser
server_url = web.server_url


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("BEYONDPAY_SHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def _invoice(client: httpx.AsyncClient, merchant: TestMerchant) -> dict[str, Any]:
    buyer = await customer(client, merchant, card=None, name="Asha Rao")
    invoice = await draft(
        client,
        merchant,
        buyer["id"],
        (249_900, 5_000),
        collection_method="send_invoice",
        days_until_due=15,
        description="Annual plan, Mumbai office",
    )
    return await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/finalize"))


async def _accessible(page: Any) -> None:
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


async def _fill_card(page: Any, number: str) -> None:
    await page.fill("#card-number", number)
    await page.fill("#exp-month", "12")
    await page.fill("#exp-year", "34")
    await page.fill("#cvc", "123")
    async with page.expect_navigation():
        await page.click("[data-testid=pay-card]")


async def test_a_send_invoice_invoice_is_paid_by_card_on_its_hosted_page(
    server_url: str,
    merchant: TestMerchant,
    database: Database,
    browser: Any,
    tmp_path: Path,
) -> None:
    shots = _shots(tmp_path)
    await register_gstin(database, merchant)
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        for width in WIDTHS_PX:
            invoice = await _invoice(client, merchant)
            assert invoice["hosted_invoice_url"].startswith(f"{server_url}/invoices/")
            context = await browser.new_context(viewport={"width": width, "height": 900})
            page = await context.new_page()
            refused: list[str] = []
            page.on("console", lambda message, kept=refused: kept.append(message.text))
            response = await page.goto(invoice["hosted_invoice_url"])
            assert response is not None and response.status == 200
            assert await page.title() == f"Invoice {invoice['number']} from Acme"
            assert await page.inner_text("[data-testid=status]") == "Due"
            assert await page.inner_text("[data-testid=amount]") == "₹2,549.00"
            assert await page.evaluate(_LAYOUT_PROBLEMS) == []
            await page.screenshot(path=shots / f"invoice-open-{width}px.png", full_page=True)
            await _accessible(page)

            await _fill_card(page, "4242 4242 4242 4242")
            assert await page.inner_text("[data-testid=status]") == "Paid"
            assert await page.inner_text("[data-testid=amount]") == "₹2,549.00"
            assert await page.locator("[data-testid=pay-card]").count() == 0
            assert await page.evaluate(_LAYOUT_PROBLEMS) == []
            assert not [text for text in refused if "Content Security Policy" in text]
            await page.screenshot(path=shots / f"invoice-paid-{width}px.png", full_page=True)
            await _accessible(page)
            await context.close()
            paid = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
            assert paid["status"] == "paid" and paid["amount_paid"] == 254_900


async def test_three_d_secure_and_upi_on_the_hosted_page_on_a_phone(
    server_url: str,
    merchant: TestMerchant,
    browser: Any,
    tmp_path: Path,
) -> None:
    shots = _shots(tmp_path)
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        challenged = await _invoice(client, merchant)
        upi = await _invoice(client, merchant)
    context = await browser.new_context(viewport={"width": 360, "height": HEIGHT_PX})
    page = await context.new_page()
    await page.goto(challenged["hosted_invoice_url"])
    await page.fill("#card-number", "4000002500003155")
    await page.fill("#exp-month", "12")
    await page.fill("#exp-year", "2034")
    async with page.expect_navigation():
        await page.click("[data-testid=pay-card]")
    assert "/sandbox/3ds/" in page.url
    async with page.expect_navigation():
        await page.click("text=Complete authentication")
    assert page.url == challenged["hosted_invoice_url"]
    assert await page.inner_text("[data-testid=status]") == "Paid"

    await page.goto(upi["hosted_invoice_url"])
    async with page.expect_navigation():
        await page.click("[data-testid=pay-upi]")
    assert await page.locator("[data-testid=upi] svg").count() == 1
    link = await page.get_attribute("[data-testid=upi] a.button", "href")
    assert link is not None and link.startswith("upi://pay?") and "tr=INV%2F" in link
    assert await page.evaluate(_LAYOUT_PROBLEMS) == []
    await page.screenshot(path=shots / "invoice-upi-360px.png", full_page=True)
    await _accessible(page)
    await context.close()
