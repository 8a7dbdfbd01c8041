"""A subscription-mode Checkout Session in a real browser (tests/checkout/test_browser.py's
way), at 360 px and 1280 px: the page shows each line "/ month", "Then ₹X every month" and the
pre-debit note, offers a card only, fits the screen and passes axe-core; subscribing with a 4242
card sends the customer on to ``success_url`` with the subscription active. Screenshots kept
under ``BEYONDPAY_SHOTS_DIR`` when set; docs/checkout.md shows the ones kept in
docs/images/checkout/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.billing.subscriptions.support import monthly_price
from tests.checkout.test_browser import _accessible, _back_at_shop, _fill_card, _page, _shots
from tests.checkout.test_subscription_mode import subscription_session
from tests.compat.server import CLIENT_TIMEOUT_S
from tests.payments.support import get
from tests.support import TestMerchant
from tests.web import test_browser as web
from tests.web.test_browser import _LAYOUT_PROBLEMS, WIDTHS_PX

browser = web.browser
server_url = web.server_url


async def test_a_subscription_is_bought_by_card_on_a_phone_and_a_desktop(
    server_url: str, merchant: TestMerchant, browser: Any, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        price = await monthly_price(client, merchant, 14_99_900, "Business plan")
        for width in WIDTHS_PX:
            made = await subscription_session(
                client,
                merchant,
                price["id"],
                **{
                    "line_items[1][price_data][currency]": "inr",
                    "line_items[1][price_data][unit_amount]": "500000",
                    "line_items[1][price_data][product_data][name]": "Extra seat",
                    "line_items[1][price_data][recurring][interval]": "month",
                    "line_items[1][quantity]": "2",
                },
            )
            context, page, messages = await _page(browser, width)
            response = await page.goto(made["url"])
            assert response is not None and response.status == 200
            assert await page.inner_text("[data-testid=total]") == "₹24,999.00 / month"
            lines = await page.locator("[data-testid=line]").all_inner_texts()
            assert len(lines) == 2 and all("/ month" in line for line in lines)
            recurring = await page.inner_text("[data-testid=recurring]")
            assert recurring.startswith("Then ₹24,999.00 every month")
            assert "notified before each charge" in recurring
            assert await page.locator("[data-testid=pay-upi]").count() == 0
            assert await page.locator("#bank").count() == 0
            assert await page.evaluate(_LAYOUT_PROBLEMS) == []
            await page.screenshot(
                path=shots / f"checkout-subscription-{width}px.png", full_page=True
            )
            await _accessible(page)

            await _fill_card(page, "4242 4242 4242 4242")
            await _back_at_shop(page, made["id"])
            assert not [text for text in messages if "Content Security Policy" in text]
            await context.close()
            done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
            assert (done["status"], done["payment_status"]) == ("complete", "paid")
            subscription = await get(client, merchant, f"/v1/subscriptions/{done['subscription']}")
            assert subscription["status"] == "active"
            assert subscription["default_payment_method"] is not None
