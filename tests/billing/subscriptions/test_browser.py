"""A renewal above RBI's ₹15,000 limit, never charged off-session, paid by its customer on the
invoice's hosted page in a real browser (Playwright driving Debian's Chromium, as
tests/billing/invoices/test_browser.py): the subscription is active again."""

from __future__ import annotations

from typing import Any

import httpx

from beyondpay.db.session import Database
from tests.billing.invoices.support import customer, ok, run_invoice_jobs
from tests.billing.invoices.test_browser import _fill_card
from tests.billing.subscriptions.support import monthly_price, subscribe
from tests.billing.subscriptions.test_notices import ABOVE_LIMIT, HOUR_S, START
from tests.compat.server import CLIENT_TIMEOUT_S
from tests.payments.support import get
from tests.support import TestMerchant
from tests.test_clocks.support import advance, new_clock, run_advances
from tests.web import test_browser as web

browser = web.browser
server_url = web.server_url


async def test_a_renewal_above_the_limit_is_paid_by_its_customer_on_the_hosted_page(
    server_url: str, merchant: TestMerchant, database: Database, browser: Any
) -> None:
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as client:
        clock = (await new_clock(client, merchant, START))["id"]
        buyer = await customer(client, merchant, test_clock=clock)
        price = await monthly_price(client, merchant, amount=ABOVE_LIMIT)
        subscription = await subscribe(
            client, merchant, buyer["id"], price["id"], trial_period_days=7
        )
        await ok(await advance(client, merchant, clock, subscription["trial_end"] + 2 * HOUR_S))
        await run_advances(database)
        await run_invoice_jobs(database)
        waiting = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
        assert waiting["status"] == "past_due"
        invoice = await get(client, merchant, f"/v1/invoices/{waiting['latest_invoice']}")
        assert invoice["status"] == "open" and invoice["attempt_count"] == 0
        context = await browser.new_context(viewport={"width": 360, "height": 900})
        page = await context.new_page()
        response = await page.goto(invoice["hosted_invoice_url"])
        assert response is not None and response.status == 200
        assert await page.inner_text("[data-testid=amount]") == "₹20,000.00"
        await _fill_card(page, "4242 4242 4242 4242")
        assert await page.inner_text("[data-testid=status]") == "Paid"
        await context.close()
        paid = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
        assert paid["status"] == "paid" and paid["amount_paid"] == ABOVE_LIMIT
        active = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
        assert active["status"] == "active"
