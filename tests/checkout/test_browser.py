"""Checkout Sessions paid on their hosted page in a real browser (Playwright driving Debian's
Chromium, as tests/web/test_browser.py), at a phone's 360 px and a desktop's 1280 px: the page
fits the screen, loads its stylesheet under its Content-Security-Policy, passes axe-core's
rules, and a paid session's page sends the customer on to ``success_url`` with the session's
id. Paid by a 4242 card; a 3-D Secure card through its challenge; a declined card then a good
one; UPI by QR code (wide screens; read back from the screenshot with zxing-cpp) or the app
link (phones); a collect request to
``success@sandbox``; net banking; an expired session refuses to pay.

The merchant's site (``https://shop.example``) is answered by the browser itself
(``page.route``): nothing leaves the machine. Screenshots are kept under
``BEYONDPAY_SHOTS_DIR`` when set, else the test's temporary directory; docs/checkout.md shows
the ones kept in docs/images/checkout/.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import httpx
import zxingcpp
from PIL import Image

from beyondpay.db.session import Database
from tests.billing.invoices.support import ok
from tests.checkout.support import session
from tests.compat.server import CLIENT_TIMEOUT_S
from tests.payments.support import deliver_callbacks, get, post
from tests.psp.transfers_support import balance, pay, ready_payer
from tests.support import TestMerchant
from tests.web import test_browser as web
from tests.web.test_browser import _LAYOUT_PROBLEMS, HEIGHT_PX, WIDTHS_PX

browser = web.browser
server_url = web.server_url
SHOP = "https://shop.example/"


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("BEYONDPAY_SHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def _accessible(page: Any) -> None:
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


async def _page(browser: Any, width: int) -> tuple[Any, Any, list[str]]:
    """A tab at ``width`` whose requests to the merchant's site are answered in the browser;
    and the console's messages (a refused stylesheet would say so there)."""
    context = await browser.new_context(viewport={"width": width, "height": HEIGHT_PX})
    page = await context.new_page()
    messages: list[str] = []
    page.on("console", lambda message, kept=messages: kept.append(message.text))

    async def shop(route: Any) -> None:
        await route.fulfill(
            status=200, content_type="text/html", body="<title>Thanks</title><h1>Thanks</h1>"
        )

    await page.route(f"{SHOP}**", shop)
    return context, page, messages


async def _give_email(page: Any, email: str = "asha@example.in") -> None:
    """The page's first step when the session has no customer and no email: the customer's
    email, then the ways to pay."""
    if await page.locator("#email").count():
        await page.fill("#email", email)
        async with page.expect_navigation():
            await page.click("[data-testid=give-email]")
        assert await page.inner_text("[data-testid=receipt-email]") == f"Receipt to {email}"


async def _fill_card(page: Any, number: str) -> None:
    await _give_email(page)
    await page.fill("#card-number", number)
    await page.fill("#exp-month", "12")
    await page.fill("#exp-year", "34")
    await page.fill("#cvc", "123")
    async with page.expect_navigation():
        await page.click("[data-testid=pay-card]")


async def _back_at_shop(page: Any, session_id: str) -> None:
    """The paid page goes on to success_url by itself (its refresh), the id in it."""
    await page.wait_for_url(f"{SHOP}thanks?session={session_id}", timeout=15_000)


async def test_a_session_is_paid_by_card_on_a_phone_and_a_desktop(
    server_url: str, merchant: TestMerchant, browser: Any, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        for width in WIDTHS_PX:
            made = await session(client, merchant)
            assert made["url"].startswith(f"{server_url}/checkout/")
            context, page, messages = await _page(browser, width)
            response = await page.goto(made["url"])
            assert response is not None and response.status == 200
            assert await page.title() == "Pay Acme"
            assert await page.inner_text("[data-testid=total]") == "₹3,248.50"
            assert await page.locator("[data-testid=line]").count() == 2
            assert await page.evaluate(_LAYOUT_PROBLEMS) == []
            await page.screenshot(path=shots / f"checkout-open-{width}px.png", full_page=True)
            await _accessible(page)

            await _fill_card(page, "4242 4242 4242 4242")
            await _back_at_shop(page, made["id"])
            assert not [text for text in messages if "Content Security Policy" in text]
            await context.close()
            done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
            assert done["status"] == "complete" and done["payment_status"] == "paid"


async def test_without_a_success_url_the_paid_page_stays(
    server_url: str, merchant: TestMerchant, browser: Any, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        for width in WIDTHS_PX:
            made = await session(client, merchant, success_url=None)
            assert made["success_url"] is None
            context, page, _ = await _page(browser, width)
            await page.goto(made["url"])
            await _fill_card(page, "4242424242424242")
            assert await page.inner_text("[data-testid=status]") == "Paid"
            assert await page.evaluate(_LAYOUT_PROBLEMS) == []
            await page.screenshot(path=shots / f"checkout-paid-{width}px.png", full_page=True)
            await _accessible(page)
            await context.close()


async def test_a_declined_card_then_three_d_secure(
    server_url: str, merchant: TestMerchant, browser: Any, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        made = await session(client, merchant)
    context, page, _ = await _page(browser, 360)
    await page.goto(made["url"])
    await _fill_card(page, "4000 0000 0000 0002")
    assert "declined" in await page.inner_text("[data-testid=error]")
    assert await page.evaluate(_LAYOUT_PROBLEMS) == []
    await page.screenshot(path=shots / "checkout-declined-360px.png", full_page=True)
    await _accessible(page)
    await _fill_card(page, "4000 0025 0000 3155")
    assert "/sandbox/3ds/" in page.url
    await page.click("button.ok")
    await _back_at_shop(page, made["id"])
    await context.close()


async def test_upi_qr_on_a_desktop_and_the_app_link_on_a_phone(
    server_url: str, merchant: TestMerchant, browser: Any, database: Database, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        made = await session(client, merchant)
    decoded: Any = None
    for width in WIDTHS_PX:
        context, page, _ = await _page(browser, width)
        await page.goto(made["url"])
        if width == WIDTHS_PX[0]:  # the payment asked once; the page shows it from then on
            await _give_email(page)
            async with page.expect_navigation():
                await page.click("[data-testid=pay-upi]")
        assert await page.locator("[data-testid=pay-upi]").count() == 0
        qr, app = page.locator("[data-testid=upi-qr] svg"), page.locator("[data-testid=upi-app]")
        assert await qr.is_visible() == (width > 600)
        assert await app.is_visible() == (width <= 600)
        link = await app.get_attribute("href")
        assert link is not None and link.startswith("upi://pay?") and f"tr={made['id']}" in link
        if width > 600:  # the QR code, read back from the page's pixels, is that link
            shot = await qr.screenshot()
            [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
            assert decoded.text == link
        assert await page.evaluate(_LAYOUT_PROBLEMS) == []
        await page.screenshot(path=shots / f"checkout-upi-{width}px.png", full_page=True)
        await _accessible(page)
        await context.close()
    # A payer of our PSP scans it and pays it with their PIN; a page left open sees it by
    # itself and goes on.
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        asha = await ready_payer(client)
        before = await balance(client, asha)
        context, page, _ = await _page(browser, 1280)
        await page.goto(made["url"])
        paid = await pay(client, asha, made["amount_total"], qr_payload=decoded.text)
        assert paid.status_code == 200, paid.text
        receipt = paid.json()
        assert receipt["status"] == "succeeded" and receipt["reference"] == made["id"]
        assert receipt["payee"]["name"] == "Acme"
        await _back_at_shop(page, made["id"])
        await context.close()
        done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
        assert done["status"] == "complete" and done["payment_status"] == "paid"
        charges = await get(client, merchant, "/v1/charges", payment_intent=done["payment_intent"])
        assert [charge["amount_captured"] for charge in charges["data"]] == [3_248_50]
        assert await balance(client, asha) == before - 3_248_50
        # The same QR paid again (another payer, who kept a photo of it): the switch refuses
        # it (B3) before any money moves.
        ravi = await ready_payer(client, name="Ravi Kumar")
        again = await pay(client, ravi, made["amount_total"], qr_payload=decoded.text)
        assert again.status_code == 402, again.text
        assert again.json()["error"]["npci_code"] == "B3"
        assert again.json()["error"]["transaction"]["status"] == "failed"
        assert await balance(client, ravi) == before
        # The sandbox's own simulated payer, scheduled for later, finds the request paid.
        await deliver_callbacks(database)
        charges = await get(client, merchant, "/v1/charges", payment_intent=done["payment_intent"])
        assert len(charges["data"]) == 1


async def test_upi_collect_to_a_typed_vpa_and_net_banking(
    server_url: str, merchant: TestMerchant, browser: Any, database: Database, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        collect = await session(client, merchant)
        bank = await session(client, merchant)
    context, page, _ = await _page(browser, 360)
    await page.goto(collect["url"])
    await _give_email(page)
    await page.fill("#vpa", "success@sandbox")
    async with page.expect_navigation():
        await page.click("[data-testid=pay-vpa]")
    assert await page.locator("[data-testid=upi-collect]").is_visible()
    await page.screenshot(path=shots / "checkout-collect-360px.png", full_page=True)
    await _accessible(page)
    assert await deliver_callbacks(database) >= 1  # the payer approves in their app
    await _back_at_shop(page, collect["id"])

    await page.goto(bank["url"])
    await _give_email(page)
    await page.select_option("#bank", "HDFC")
    async with page.expect_navigation():
        await page.click("[data-testid=pay-bank]")
    assert "/sandbox/bank/" in page.url
    await page.click("button.ok")
    await _back_at_shop(page, bank["id"])
    await context.close()


async def test_an_expired_session_refuses_to_pay(
    server_url: str, merchant: TestMerchant, browser: Any, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        made = await session(client, merchant)
        context, page, _ = await _page(browser, 1280)
        await page.goto(made["url"])  # the tab opened before the session expired
        await _give_email(page)
        await ok(await post(client, merchant, f"/v1/checkout/sessions/{made['id']}/expire"))
        await page.fill("#card-number", "4242424242424242")
        await page.fill("#exp-month", "12")
        await page.fill("#exp-year", "34")
        async with page.expect_navigation():
            await page.click("[data-testid=pay-card]")
        assert await page.is_visible("[data-testid=expired]")
        assert await page.locator("[data-testid=pay-card]").count() == 0
        assert await page.evaluate(_LAYOUT_PROBLEMS) == []
        await page.screenshot(path=shots / "checkout-expired-1280px.png", full_page=True)
        await _accessible(page)
        await context.close()
        found = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
        assert found["status"] == "expired" and found["payment_intent"] is None


async def test_the_email_step_and_a_promotion_code_on_a_phone_and_a_desktop(
    server_url: str, merchant: TestMerchant, browser: Any, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        coupon = await ok(await post(client, merchant, "/v1/coupons", percent_off="10"))
        for width in WIDTHS_PX:
            code = f"DIWALI{width}"
            await ok(
                await post(client, merchant, "/v1/promotion_codes", coupon=coupon["id"], code=code)
            )
            made = await session(client, merchant, allow_promotion_codes="true")
            context, page, _ = await _page(browser, width)
            await page.goto(made["url"])
            assert await page.locator("#card-number").count() == 0  # the email comes first
            assert await page.get_attribute("#email", "type") == "email"
            assert await page.get_attribute("#email", "required") is not None
            assert await page.evaluate(_LAYOUT_PROBLEMS) == []
            await page.screenshot(path=shots / f"checkout-email-{width}px.png", full_page=True)
            await _accessible(page)
            await _give_email(page)

            await page.fill("#promotion-code", "NOSUCHCODE")
            async with page.expect_navigation():
                await page.click("[data-testid=apply-promo]")
            refused = await page.inner_text("[data-testid=promo-error]")
            assert refused == "No active promotion code is 'NOSUCHCODE'."
            assert await page.inner_text("[data-testid=total]") == "₹3,248.50"
            await page.screenshot(path=shots / f"checkout-promo-refused-{width}px.png")
            await _accessible(page)

            await page.fill("#promotion-code", code.lower())
            async with page.expect_navigation():
                await page.click("[data-testid=apply-promo]")
            assert await page.inner_text("[data-testid=total]") == "₹2,923.65"
            assert "\u2212₹324.85" in await page.inner_text("[data-testid=discount]")
            assert await page.evaluate(_LAYOUT_PROBLEMS) == []
            await page.screenshot(path=shots / f"checkout-promo-{width}px.png", full_page=True)
            await _accessible(page)

            await _fill_card(page, "4242 4242 4242 4242")
            await _back_at_shop(page, made["id"])
            await context.close()
            done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
            assert done["amount_total"] == 2_923_65 and done["status"] == "complete"
            assert done["customer_details"] == {"email": "asha@example.in"}
