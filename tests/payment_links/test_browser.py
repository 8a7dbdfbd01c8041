"""A payment link in a real browser (Playwright driving Debian's Chromium, as
tests/checkout/test_browser.py): a link with ``restrictions.completed_sessions.limit`` 2 and a
hosted confirmation is opened and paid by a 4242 card twice (on a 360 px phone, then a 1280 px
desktop), each visit a new session, each payment ending on our confirmation page with the
link's message; the third visit shows "This link is no longer available" (410) and opens no
session; a link set ``active=false`` refuses the same way. Every page fits the screen, passes
axe-core's rules and loads under its Content-Security-Policy. Screenshots are kept under
``BEYONDPAY_SHOTS_DIR`` when set, else the test's temporary directory; docs/checkout.md shows
the ones kept in docs/images/checkout/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.billing.invoices.support import ok
from tests.checkout.test_browser import _accessible, _fill_card, _page, _shots
from tests.compat.server import CLIENT_TIMEOUT_S
from tests.payment_links.support import link
from tests.payments.support import get, post
from tests.support import TestMerchant
from tests.web import test_browser as web
from tests.web.test_browser import _LAYOUT_PROBLEMS, WIDTHS_PX

browser = web.browser
server_url = web.server_url
MESSAGE = "Dhanyavaad! Your kurta ships on Monday."


async def _sessions_of(client: httpx.AsyncClient, merchant: TestMerchant, link_id: str) -> int:
    listed = await get(client, merchant, "/v1/checkout/sessions", limit=100)
    return sum(found["payment_link"] == link_id for found in listed["data"])


async def _refused(page: Any, url: str, shot: Path | None) -> None:
    response = await page.goto(url)
    assert response is not None and response.status == 410
    assert await page.inner_text("h1") == "This link is no longer available"
    assert await page.evaluate(_LAYOUT_PROBLEMS) == []
    if shot is not None:
        await page.screenshot(path=shot, full_page=True)
    await _accessible(page)


async def test_a_link_with_a_limit_of_two_completes_twice_then_refuses(
    server_url: str, merchant: TestMerchant, browser: Any, tmp_path: Path
) -> None:
    shots = _shots(tmp_path)
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        made = await link(
            client,
            merchant,
            **{
                "restrictions[completed_sessions][limit]": "2",
                "after_completion[type]": "hosted_confirmation",
                "after_completion[hosted_confirmation][custom_message]": MESSAGE,
            },
        )
        assert made["url"].startswith(f"{server_url}/l/test_")
        for width in WIDTHS_PX:
            context, page, messages = await _page(browser, width)
            response = await page.goto(made["url"])
            assert response is not None and response.status == 200
            assert "/checkout/" in page.url  # a new session's page
            assert await page.inner_text("[data-testid=total]") == "₹3,248.50"
            await _fill_card(page, "4242 4242 4242 4242")
            await page.wait_for_url(f"{made['url']}/complete?session=cs_test_*", timeout=15_000)
            assert await page.inner_text("[data-testid=confirmation]") == MESSAGE
            assert await page.inner_text("[data-testid=paid]") == "₹3,248.50"
            assert await page.evaluate(_LAYOUT_PROBLEMS) == []
            await page.screenshot(
                path=shots / f"payment-link-confirmation-{width}px.png", full_page=True
            )
            await _accessible(page)
            assert not [text for text in messages if "Content Security Policy" in text]
            await context.close()
        done = await get(client, merchant, f"/v1/payment_links/{made['id']}")
        assert done["active"] is False
        assert done["restrictions"]["completed_sessions"] == {"count": 2, "limit": 2}
        assert await _sessions_of(client, merchant, made["id"]) == 2
        for width in WIDTHS_PX:
            context, page, _ = await _page(browser, width)
            await _refused(page, made["url"], shots / f"payment-link-unavailable-{width}px.png")
            await context.close()
        assert await _sessions_of(client, merchant, made["id"]) == 2


async def test_an_inactive_link_refuses(
    server_url: str, merchant: TestMerchant, browser: Any
) -> None:
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        made = await link(client, merchant)
        await ok(await post(client, merchant, f"/v1/payment_links/{made['id']}", active="false"))
        context, page, _ = await _page(browser, 360)
        await _refused(page, made["url"], None)
        await context.close()
        assert await _sessions_of(client, merchant, made["id"]) == 0
