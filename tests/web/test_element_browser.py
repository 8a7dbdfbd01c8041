"""The card element on a merchant's own page, in a real browser (Playwright driving Debian's
Chromium, as tests/web/test_browser.py), at a phone's 360 px and a desktop's 1280 px.

The merchant's page is served from another origin (another port on 127.0.0.1) under a strict
Content-Security-Policy of its own that allows only the platform's script and frame. It mounts
the element, creates a payment method, and confirms a PaymentIntent whose card asks for 3-D
Secure (4000 0025 0000 3155) through the challenge in the modal; the merchant's server then
sees the intent ``succeeded``. The card's digits never reach the merchant's origin: not in a
request to its server, not in a message posted to its page, not in its console.

Screenshots are kept under ``BEYONDPAY_SHOTS_DIR`` when set, else the test's temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

import httpx
import pytest

from tests.compat.server import CLIENT_TIMEOUT_S
from tests.support import TestMerchant
from tests.web import test_browser as web
from tests.web.test_browser import _LAYOUT_PROBLEMS, HEIGHT_PX, WIDTHS_PX

# The merchant's page with the element in it: nothing scrolls sideways, and the frame is as
# tall as its fields (the frame tells the script its height), within the page's width.
_PAGE_LAYOUT_PROBLEMS: Final = """() => {
  const problems = [];
  const root = document.documentElement;
  if (root.scrollWidth > window.innerWidth) {
    problems.push(`scrolls sideways: ${root.scrollWidth}px in ${window.innerWidth}px`);
  }
  const frame = document.querySelector('#card iframe');
  const box = frame.getBoundingClientRect();
  if (box.right > window.innerWidth) problems.push(`the element overflows: ${box.right}px`);
  if (box.height < 60) problems.push(`the element is ${box.height}px tall`);
  return problems;
}"""

browser = web.browser
server_url = web.server_url

THREE_D_SECURE_CARD: Final = "4000002500003155"
VISA: Final = "4242424242424242"
DECLINED_CARD: Final = "4000000000000002"
FRAME: Final = 'iframe[title="Secure card payment input"]'
CHALLENGE: Final = 'iframe[title="3-D Secure authentication"]'
STEP_TIMEOUT_MS: Final = 15_000

# The merchant's page: the documented example (docs/card-element.md), with its script in a
# file of its own so that the page can keep a strict CSP with no inline script.
_PAGE: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme checkout</title>
<style>body{{font-family:system-ui,sans-serif;margin:0;padding:1rem;color:#1a1f36}}
main{{max-width:32rem;margin:0 auto}}button{{margin-top:1rem;padding:.75rem 1rem;font:inherit;
width:100%;background:#1a1f36;color:#fff;border:0;border-radius:.5rem}}</style>
<script src="{platform}/v1/js"></script></head>
<body><main><h1>Pay Acme ₹499.00</h1>
<form id="pay" data-secret="{secret}"><div id="card"></div>
<button id="save">Save card</button><button id="submit">Pay ₹499.00</button></form>
<p id="result" role="status"></p></main>
<script src="/checkout.js"></script></body></html>"""
_SCRIPT: Final = """
var beyondpay = Beyondpay('{key}');
var card = beyondpay.elements().create('card');
card.mount('#card');
window.seenMessages = [];
window.elementEvents = [];
card.on('change', function (e) {{ window.elementEvents.push('change:' + e.complete); }});
card.on('submit', function () {{ window.elementEvents.push('submit'); }});
window.addEventListener('message', function (event) {{
  window.seenMessages.push(JSON.stringify(event.data));
}});
var form = document.getElementById('pay');
var result = document.getElementById('result');
document.getElementById('save').addEventListener('click', function (event) {{
  event.preventDefault();
  beyondpay.createPaymentMethod({{ type: 'card', card: card }}).then(function (r) {{
    result.textContent = r.error ? r.error.message : 'Saved ' + r.paymentMethod.id;
  }});
}});
form.addEventListener('submit', function (event) {{
  event.preventDefault();
  beyondpay.confirmCardPayment(form.dataset.secret, {{ payment_method: {{ card: card }} }})
    .then(function (r) {{
      result.textContent = r.error ? r.error.message : 'Paid: ' + r.paymentIntent.status;
    }});
}});
"""


@dataclass
class MerchantSite:
    """The merchant's web server on its own origin: what it serves, and every request it got
    (path and body), to show that no card number ever reached it."""

    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    requests: list[bytes] = field(default_factory=list)
    url: str = ""
    csp: str = ""


@pytest.fixture
def merchant_site(server_url: str) -> Iterator[MerchantSite]:
    site = MerchantSite()
    # The merchant keeps a strict policy: its own scripts, the platform's script and frames.
    site.csp = (
        f"default-src 'none'; script-src 'self' {server_url}; frame-src {server_url};"
        " style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; form-action 'none'"
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            site.requests.append(self.path.encode())
            found = site.files.get(self.path.split("?")[0])
            if found is None:
                self.send_error(404)
                return
            content_type, body = found
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if site.csp:
                self.send_header("Content-Security-Policy", site.csp)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            site.requests.append(self.path.encode() + b" " + self.rfile.read(length))
            self.send_error(405)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="merchant-site", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        server.shutdown()
        server.server_close()


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("BEYONDPAY_SHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


async def _accessible(target: Any, *, frame: bool = False) -> None:
    """axe-core's rules on the merchant's page, or on the element's frame on its own, where
    the page's heading is the merchant's (a frame is a part of a page, not a page)."""
    from axe_playwright_python.async_playwright import Axe

    options: dict[str, Any] = {"resultTypes": ["violations"]}
    if frame:
        options["rules"] = {"page-has-heading-one": {"enabled": False}}
    results = await Axe().run(target, options=options)
    assert results.violations_count == 0, results.generate_report()


async def _intent(client: httpx.AsyncClient, merchant: TestMerchant) -> dict[str, Any]:
    created = await client.post(
        "/v1/payment_intents",
        data={"amount": "49900", "currency": "inr", "metadata[order]": "A-17"},
        headers=merchant.auth(),
    )
    assert created.status_code == 200, created.text
    answer: dict[str, Any] = created.json()
    return answer


async def _result(page: Any, expected: str | re.Pattern[str]) -> None:
    """Waits for the merchant's page to show ``expected`` (Playwright's own polling: the
    page's CSP refuses the string evaluation ``wait_for_function`` would use)."""
    from playwright.async_api import expect

    await expect(page.locator("#result")).to_have_text(expected, timeout=STEP_TIMEOUT_MS)


async def _events_until(page: Any, last: str) -> list[str]:
    """The element's events the page heard, once ``last`` is among them (messages arrive
    asynchronously; polled here, as the page's CSP refuses ``wait_for_function``)."""
    events: list[str] = []
    for _ in range(STEP_TIMEOUT_MS // 50):
        events = await page.evaluate("window.elementEvents")
        if last in events:
            break
        await asyncio.sleep(0.05)
    return events


async def _fill(frame: Any, number: str) -> None:
    await frame.locator("#number").fill("")
    await frame.locator("#number").type(number)
    await frame.locator("#expiry").fill("")
    await frame.locator("#expiry").type("1234")
    await frame.locator("#cvc").fill("")
    await frame.locator("#cvc").type("123")


async def test_the_element_on_a_merchants_page_saves_a_card_and_pays_through_3d_secure(
    server_url: str,
    merchant_site: MerchantSite,
    merchant: TestMerchant,
    browser: Any,
    tmp_path: Path,
) -> None:
    shots = _shots(tmp_path)
    site = merchant_site
    assert site.url != server_url  # two origins: the merchant's and the platform's
    site.files["/checkout.js"] = (
        "text/javascript",
        _SCRIPT.format(key=merchant.keys["pk_test"]).encode(),
    )
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        for width in WIDTHS_PX:
            intent = await _intent(client, merchant)
            page_html = _PAGE.format(platform=server_url, secret=intent["client_secret"])
            site.files["/checkout"] = ("text/html; charset=utf-8", page_html.encode())

            context = await browser.new_context(viewport={"width": width, "height": HEIGHT_PX})
            page = await context.new_page()
            console: list[str] = []
            page.on("console", lambda message, kept=console: kept.append(message.text))
            response = await page.goto(f"{site.url}/checkout")
            assert response is not None and response.status == 200
            frame = page.frame_locator(FRAME)
            await frame.locator("#number").wait_for(timeout=STEP_TIMEOUT_MS)
            frame_page = next(f for f in page.frames if "/elements/card" in f.url)

            # A wrong number is refused in the frame, before any request.
            await _fill(frame, "4242424242424241")
            await page.click("#save")
            await _result(page, "Your card number is incorrect.")
            assert await frame.locator("#problem").inner_text() == "Your card number is incorrect."
            assert await frame.locator("#number").get_attribute("aria-invalid") == "true"

            # A payment method, made in the frame with the publishable key.
            await _fill(frame, VISA)
            await frame.locator("#cvc").press("Enter")
            events = await _events_until(page, "submit")
            assert events[-2:] == ["change:true", "submit"], events
            await page.evaluate("document.getElementById('result').textContent = ''")
            await page.click("#save")
            await _result(page, re.compile(r"^Saved pm_"))
            saved = (await page.inner_text("#result")).removeprefix("Saved ")
            method = await client.get(f"/v1/payment_methods/{saved}", headers=merchant.auth())
            assert method.status_code == 200, method.text
            assert method.json()["card"]["last4"] == "4242"

            assert await page.evaluate(_PAGE_LAYOUT_PROBLEMS) == []
            assert await frame_page.evaluate(_LAYOUT_PROBLEMS.replace(".receipt", "input")) == []
            await _accessible(page)
            await _accessible(frame_page, frame=True)

            # Pay with a card that asks for 3-D Secure: the challenge opens over the page.
            await _fill(frame, THREE_D_SECURE_CARD)
            await page.screenshot(path=shots / f"element-card-{width}px.png", full_page=True)
            await page.click("#submit")
            challenge = page.frame_locator(CHALLENGE)
            complete = challenge.get_by_role("button", name="Complete authentication")
            await complete.wait_for(timeout=STEP_TIMEOUT_MS)
            await page.screenshot(path=shots / f"element-3ds-{width}px.png")
            await _accessible(page)  # the modal: a labelled dialog, its frame titled
            await complete.click()
            await _result(page, "Paid: succeeded")
            assert await page.locator(CHALLENGE).count() == 0  # the modal closed
            await page.screenshot(path=shots / f"element-paid-{width}px.png", full_page=True)

            paid = await client.get(f"/v1/payment_intents/{intent['id']}", headers=merchant.auth())
            assert paid.json()["status"] == "succeeded", paid.text
            assert paid.json()["amount_received"] == 49900
            charge = await client.get(
                f"/v1/charges/{paid.json()['latest_charge']}", headers=merchant.auth()
            )
            assert charge.json()["payment_method_details"]["card"]["last4"] == "3155"

            messages = await page.evaluate("window.seenMessages")
            assert messages, "the frame talks to the page by postMessage"
            for number in (VISA, THREE_D_SECURE_CARD, "4242 4242"):
                assert not [m for m in messages if number in m]
                assert not [text for text in console if number in text]
                assert not [r for r in site.requests if number.encode() in r]
            assert not [text for text in console if "Content Security Policy" in text], console
            await context.close()


DOCS: Final = Path(__file__).resolve().parents[2] / "docs" / "card-element.md"
_EXAMPLE_MARKER: Final = "<!-- example-page:"


def _documented_example() -> str:
    """The example page of docs/card-element.md, as written there."""
    text = DOCS.read_text()
    after = text[text.index(_EXAMPLE_MARKER) :]
    start = after.index("```html\n") + len("```html\n")
    return after[start : after.index("```", start)]


def test_the_documented_example_is_ten_lines() -> None:
    assert len(_documented_example().splitlines()) == 10


async def _frame_says(frame: Any, expected: str) -> None:
    from playwright.async_api import expect

    await expect(frame.locator("#problem")).to_have_text(expected, timeout=STEP_TIMEOUT_MS)


async def test_the_documented_example_page_reports_a_decline_pays_and_fails_authentication(
    server_url: str,
    merchant_site: MerchantSite,
    merchant: TestMerchant,
    browser: Any,
) -> None:
    site = merchant_site
    site.csp = ""  # the example has an inline script: a page without a policy of its own
    example = _documented_example().replace("https://pay.example.com", server_url)
    example = example.replace("pk_test_…", merchant.keys["pk_test"])
    context = await browser.new_context(viewport={"width": 1280, "height": HEIGHT_PX})
    page = await context.new_page()
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        for number, answer, status in (
            (DECLINED_CARD, "Your card was declined.", "requires_payment_method"),
            (VISA, "Payment succeeded", "succeeded"),
            (
                THREE_D_SECURE_CARD,
                "The provided payment method has failed authentication.",
                "requires_payment_method",
            ),
        ):
            intent = await _intent(client, merchant)
            html = example.replace("{{ client_secret }}", intent["client_secret"])
            site.files["/example"] = ("text/html; charset=utf-8", html.encode())
            await page.goto(f"{site.url}/example")
            frame = page.frame_locator(FRAME)
            await frame.locator("#number").wait_for(timeout=STEP_TIMEOUT_MS)
            await _fill(frame, number)
            await page.click("button")
            if number == THREE_D_SECURE_CARD:
                challenge = page.frame_locator(CHALLENGE)
                fail = challenge.get_by_role("button", name="Fail authentication")
                await fail.wait_for(timeout=STEP_TIMEOUT_MS)
                await fail.click()
            await _result(page, answer)
            if number == DECLINED_CARD:  # the frame says it too, under its fields
                await _frame_says(frame, answer)
            after = await client.get(f"/v1/payment_intents/{intent['id']}", headers=merchant.auth())
            assert after.json()["status"] == status, after.text
    await context.close()


_SETUP_PAGE: Final = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Save a card with Acme</title>
<script src="{platform}/v1/js"></script></head>
<body><main><h1>Save your card</h1>
<form id="save" data-secret="{secret}"><div id="card"></div><button>Save card</button></form>
<p id="result" role="status"></p></main>
<script src="/setup.js"></script></body></html>"""
_SETUP_SCRIPT: Final = """
var beyondpay = Beyondpay('{key}');
var card = beyondpay.elements().create('card').mount('#card');
var form = document.getElementById('save');
form.addEventListener('submit', function (event) {{
  event.preventDefault();
  beyondpay.confirmCardSetup(form.dataset.secret, {{ payment_method: {{ card: card }} }})
    .then(function (r) {{
      document.getElementById('result').textContent =
        r.error ? r.error.message : 'Saved: ' + r.setupIntent.status;
    }});
}});
"""


async def test_the_element_saves_a_card_for_later_through_3d_secure(
    server_url: str,
    merchant_site: MerchantSite,
    merchant: TestMerchant,
    browser: Any,
) -> None:
    site = merchant_site
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        customer = await client.post(
            "/v1/customers", data={"name": "Asha"}, headers=merchant.auth()
        )
        created = await client.post(
            "/v1/setup_intents",
            data={"customer": customer.json()["id"]},
            headers=merchant.auth(),
        )
        intent = created.json()
        site.files["/setup.js"] = (
            "text/javascript",
            _SETUP_SCRIPT.format(key=merchant.keys["pk_test"]).encode(),
        )
        html = _SETUP_PAGE.format(platform=server_url, secret=intent["client_secret"])
        site.files["/setup"] = ("text/html; charset=utf-8", html.encode())
        context = await browser.new_context(viewport={"width": 360, "height": HEIGHT_PX})
        page = await context.new_page()
        await page.goto(f"{site.url}/setup")
        frame = page.frame_locator(FRAME)
        await frame.locator("#number").wait_for(timeout=STEP_TIMEOUT_MS)
        await _fill(frame, THREE_D_SECURE_CARD)
        await page.click("button")
        complete = page.frame_locator(CHALLENGE).get_by_role(
            "button", name="Complete authentication"
        )
        await complete.wait_for(timeout=STEP_TIMEOUT_MS)
        await complete.click()
        await _result(page, "Saved: succeeded")
        await context.close()

        done = await client.get(f"/v1/setup_intents/{intent['id']}", headers=merchant.auth())
        assert done.json()["status"] == "succeeded", done.text
        method = await client.get(
            f"/v1/payment_methods/{done.json()['payment_method']}", headers=merchant.auth()
        )
        assert method.json()["customer"] == customer.json()["id"]
        assert method.json()["card"]["last4"] == "3155"
        assert not [r for r in site.requests if THREE_D_SECURE_CARD.encode() in r]
