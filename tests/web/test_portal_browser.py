"""The hosted customer portal in a real browser (Playwright driving Debian's Chromium), at a
phone's 360 px and a desktop's 1280 px: a session made over the API opens the portal; the
customer adds a card (4242), adds one that asks for 3-D Secure and completes it on the sandbox
page, makes the first the default again and sees it listed so; the pages fit the screen, load
their stylesheets under the Content-Security-Policy (no script at all) and pass axe-core's
rules. An expired link shows a page saying so; another merchant's session reaches nothing of
this customer.

Screenshots go to ``$BEYONDPAY_SHOTS_DIR`` when set (else the test's temporary directory).
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any, Final

import httpx

from beyondpay.db.session import Database
from beyondpay.kit.clock import utcnow
from tests.billing.portal.support import customer, execute, path_of, portal_session
from tests.compat.server import CLIENT_TIMEOUT_S
from tests.support import TestMerchant, make_merchant
from tests.web.test_browser import browser, server_url  # noqa: F401 (fixtures)

WIDTHS_PX: Final = (360, 1280)
HEIGHT_PX: Final = 900

# What axe-core cannot see, checked by hand: no sideways scrolling, the stylesheets applied
# (a CSP that refused them would leave the panels unstyled), every field labelled.
_LAYOUT_PROBLEMS: Final = """() => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth) {
    problems.push(`scrolls sideways: ${root.scrollWidth}px in ${window.innerWidth}px`);
  }
  const panel = document.querySelector('.panel');
  if (!panel || getComputedStyle(panel).backgroundColor !== 'rgb(255, 255, 255)') {
    problems.push('the stylesheets were not applied');
  }
  for (const input of document.querySelectorAll('input:not([type=hidden]), select')) {
    if (!input.labels || input.labels.length === 0) problems.push(`unlabelled ${input.name}`);
  }
  if (document.scripts.length) problems.push('a script');
  return problems;
}"""


def _shots(tmp_path: Path) -> Path:
    chosen = os.environ.get("BEYONDPAY_SHOTS_DIR")
    folder = Path(chosen) if chosen else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def _check_page(page: Any, refused: list[str], shot: Path) -> None:
    from axe_playwright_python.async_playwright import Axe

    assert await page.evaluate("document.documentElement.lang") == "en"
    assert await page.evaluate(_LAYOUT_PROBLEMS) == []
    assert not [text for text in refused if "Content Security Policy" in text], refused
    await page.screenshot(path=shot, full_page=True)
    results = await Axe().run(page)
    assert results.violations_count == 0, results.generate_report()


async def _new_page(launched: Any, width: int) -> tuple[Any, Any, list[str]]:
    context = await launched.new_context(viewport={"width": width, "height": HEIGHT_PX})
    page = await context.new_page()
    refused: list[str] = []
    page.on("console", lambda message, kept=refused: kept.append(message.text))
    return context, page, refused


async def _add_card(page: Any, number: str) -> None:
    await page.fill("#card-name", "Asha Rao")
    await page.fill("#card-number", number)
    await page.fill("#card-exp_month", "12")
    await page.fill("#card-exp_year", "2034")
    await page.fill("#card-cvc", "123")
    await page.click("button:has-text('Save card')")


async def _methods(page: Any) -> list[str]:
    labels = await page.locator("[data-testid=method] .method-label").all_inner_texts()
    return [label.strip() for label in labels]


async def _default(page: Any) -> str:
    row = page.locator("[data-testid=method]", has=page.locator("[data-testid=default]"))
    return str(await row.locator(".method-label").inner_text()).strip()


async def test_a_customer_adds_cards_and_chooses_the_default_on_a_phone_and_a_desktop(
    server_url: str,  # noqa: F811
    merchant: TestMerchant,
    database: Database,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    shots = _shots(tmp_path)
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        customer_id = await customer(client, merchant)
        sessions = [await portal_session(client, merchant, customer_id) for _ in WIDTHS_PX]
    assert sessions[0]["url"].startswith(f"{server_url}/billing_portal/session/test_")

    # On a desktop: a card, then one that asks for 3-D Secure, then the first made default.
    context, page, refused = await _new_page(browser, 1280)
    opened = await page.goto(sessions[1]["url"])
    assert opened is not None and opened.status == 200
    assert page.url == f"{server_url}/billing_portal/{sessions[1]['id']}"
    assert await page.title() == "Billing · Acme"
    assert await page.inner_text("[data-testid=customer-name]") == "Asha Rao"
    assert await page.inner_text("[data-testid=customer-email]") == "asha@example.com"
    await _check_page(page, refused, shots / "portal-empty-1280px.png")
    await _add_card(page, "4242 4242 4242 4242")
    await page.wait_for_url("**?notice=card_added")
    assert "Your card was saved" in await page.inner_text("[data-testid=notice]")
    assert await _methods(page) == ["Visa •••• 4242"]
    assert await _default(page) == "Visa •••• 4242"
    await _add_card(page, "4000 0025 0000 3155")
    await page.wait_for_url("**/sandbox/3ds/**")
    await page.click("button:has-text('Complete authentication')")
    await page.wait_for_url("**?notice=card_added")
    assert await _default(page) == "Visa •••• 3155"
    await page.click("button:has-text('Make default'):has-text('Visa •••• 4242')")
    await page.wait_for_url("**?notice=default_updated")
    assert await _default(page) == "Visa •••• 4242"
    assert sorted(await _methods(page)) == ["Visa •••• 3155", "Visa •••• 4242"]
    await _check_page(page, refused, shots / "portal-1280px.png")
    # A card refused: the page again, the refusal beside the field, focus on it.
    await _add_card(page, "4242 4242 4242 4241")
    await page.wait_for_selector("[data-testid=card-error]")
    assert await page.evaluate("document.activeElement.id") == "card-number"
    await _check_page(page, refused, shots / "portal-card-refused-1280px.png")
    await context.close()

    # On a phone: the same customer's portal, from its own session.
    context, page, refused = await _new_page(browser, 360)
    await page.goto(sessions[0]["url"])
    assert await _default(page) == "Visa •••• 4242"
    await _check_page(page, refused, shots / "portal-360px.png")
    # The way back to the merchant (no network here to follow it to).
    returning = page.locator("[data-testid=return]")
    assert await returning.inner_text() == "Return to Acme"
    assert await returning.get_attribute("href") == "https://shop.example/account"
    await context.close()

    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        answer = await client.get(f"/v1/customers/{customer_id}", headers=merchant.auth())
        default = answer.json()["invoice_settings"]["default_payment_method"]
        listed = await client.get(
            f"/v1/customers/{customer_id}/payment_methods", headers=merchant.auth()
        )
    by_last4 = {method["card"]["last4"]: method["id"] for method in listed.json()["data"]}
    assert default == by_last4["4242"] and set(by_last4) == {"4242", "3155"}


async def test_an_expired_link_says_so_and_another_merchant_reaches_nothing(
    server_url: str,  # noqa: F811
    merchant: TestMerchant,
    database: Database,
    browser: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    shots = _shots(tmp_path)
    other = await make_merchant(database, name="Globex")
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        customer_id = await customer(client, merchant)
        expired = await portal_session(client, merchant, customer_id)
        mine = await portal_session(client, merchant, customer_id)
        # Another merchant cannot make a session for this customer.
        refused = await client.post(
            "/v1/billing_portal/sessions", data={"customer": customer_id}, headers=other.auth()
        )
        assert refused.status_code == 404 and refused.json()["error"]["param"] == "customer"
        theirs = await portal_session(
            client, other, await customer(client, other, name="Ravi", email="ravi@example.com")
        )
    await execute(
        database,
        "UPDATE billing_portal_sessions SET link_expires_at = :at WHERE id = :id",
        at=utcnow() - timedelta(seconds=1),
        id=expired["id"],
    )
    for width in WIDTHS_PX:
        context, page, refused_messages = await _new_page(browser, width)
        answer = await page.goto(expired["url"])
        assert answer is not None and answer.status == 410
        assert await page.inner_text("h1") == "This link has expired"
        assert "Asha" not in await page.content()
        await _check_page(page, refused_messages, shots / f"portal-expired-{width}px.png")
        await context.close()

    # One browser holding both visits: each page shows its own customer only, and the other
    # merchant's visit cannot act on this customer's page.
    context, page, refused_messages = await _new_page(browser, 1280)
    await page.goto(mine["url"])
    await page.goto(theirs["url"])
    assert await page.inner_text("[data-testid=customer-name]") == "Ravi"
    assert "Asha" not in await page.content()
    await context.close()
    context, page, refused_messages = await _new_page(browser, 1280)
    await page.goto(theirs["url"])
    answer = await page.goto(f"{server_url}/billing_portal/{mine['id']}")
    assert answer is not None and answer.status == 403
    assert "Asha" not in await page.content()
    await context.close()
    assert path_of(theirs["url"]) != path_of(mine["url"])
