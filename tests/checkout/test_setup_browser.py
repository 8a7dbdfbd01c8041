"""Checkout Sessions in setup mode on their hosted page in a real browser (Playwright driving
Debian's Chromium, as tests/checkout/test_browser.py), at a phone's 360 px and a desktop's
1280 px: the page says what it is for (no amount, no line items), fits the screen, loads its
stylesheet under its Content-Security-Policy and passes axe-core's rules. A 4242 card is saved
and the customer goes on to ``success_url``; a 3-D Secure card (4000 0025 0000 3155) goes
through its challenge and back; a declined card is shown with the form to try again; without a
``success_url`` the page says the card is saved. Screenshots as test_browser.py keeps them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.checkout.support import setup_session
from tests.checkout.test_browser import _accessible, _back_at_shop, _fill_card, _page, _shots
from tests.compat.server import CLIENT_TIMEOUT_S
from tests.payments.support import get
from tests.support import TestMerchant
from tests.web import test_browser as web
from tests.web.test_browser import _LAYOUT_PROBLEMS, WIDTHS_PX

browser = web.browser
server_url = web.server_url


async def test_a_card_is_saved_on_a_phone_and_a_desktop(
    server_url: str, merchant: TestMerchant, browser: Any, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        for width in WIDTHS_PX:
            made = await setup_session(client, merchant, customer_creation="always")
            context, page, messages = await _page(browser, width)
            response = await page.goto(made["url"])
            assert response is not None and response.status == 200
            assert await page.title() == "Save your card with Acme"
            purpose = await page.inner_text("[data-testid=purpose]")
            assert purpose == "Save your card for future payments with Acme"
            assert await page.inner_text("[data-testid=pay-card]") == "Save card"
            assert "₹" not in await page.inner_text("main")
            assert await page.evaluate(_LAYOUT_PROBLEMS) == []
            await page.screenshot(path=shots / f"checkout-setup-open-{width}px.png", full_page=True)
            await _accessible(page)

            await _fill_card(page, "4242 4242 4242 4242")
            await _back_at_shop(page, made["id"])
            assert not [text for text in messages if "Content Security Policy" in text]
            await context.close()
            done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
            assert done["status"] == "complete" and done["customer"].startswith("cus_")


async def test_a_declined_card_then_three_d_secure_through_its_challenge(
    server_url: str, merchant: TestMerchant, browser: Any, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        made = await setup_session(client, merchant)
    context, page, _ = await _page(browser, WIDTHS_PX[0])
    await page.goto(made["url"])
    await _fill_card(page, "4000 0000 0000 0002")
    assert "declined" in await page.inner_text("[data-testid=error]")
    assert await page.evaluate(_LAYOUT_PROBLEMS) == []
    await page.screenshot(path=shots / "checkout-setup-declined-360px.png", full_page=True)
    await _accessible(page)
    await _fill_card(page, "4000 0025 0000 3155")
    assert "/sandbox/3ds/" in page.url
    await page.click("button.ok")
    await _back_at_shop(page, made["id"])
    await context.close()
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert done["status"] == "complete" and done["payment_status"] == "no_payment_required"


async def test_without_a_success_url_the_page_says_the_card_is_saved(
    server_url: str, merchant: TestMerchant, browser: Any, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        made = await setup_session(client, merchant, success_url=None)
    for width in WIDTHS_PX:
        context, page, _ = await _page(browser, width)
        await page.goto(made["url"])
        if width == WIDTHS_PX[0]:
            await _fill_card(page, "4242 4242 4242 4242")
        assert await page.inner_text("[data-testid=status]") == "Card saved"
        assert await page.evaluate(_LAYOUT_PROBLEMS) == []
        await page.screenshot(path=shots / f"checkout-setup-saved-{width}px.png", full_page=True)
        await _accessible(page)
        await context.close()
