"""The hosted checkout page over HTTP (the browser test is test_browser.py): what it shows and
its headers; paying by card (declined, then good; 3-D Secure through its challenge), by UPI (a
QR code and a ``upi://pay`` link with the session as ``tr``; a collect request to a typed UPI
ID, paid by the sandbox payer) and by net banking (the sandbox bank's page); links that are not
ours; the expiry job."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import httpx

from beyondpay.checkout.service import expire_on
from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.payments.tasks import reconcile_due_charges
from tests.billing.invoices.support import queued
from tests.checkout.support import card, events_of, page, path_of, pay, session
from tests.payments.support import deliver_callbacks, get
from tests.support import TestMerchant


async def test_the_page_shows_the_session_with_strict_headers(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    made = await session(client, merchant)
    response, csrf = await page(client, path_of(made))
    policy = response.headers["content-security-policy"]
    assert "form-action 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "default-src 'none'" in policy and "script-src 'self';" in policy
    assert "unsafe" not in policy and "connect-src 'self'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    cookie = response.headers["set-cookie"]
    assert "bp_csrf=" in cookie and "HttpOnly" in cookie and "Path=/checkout/" in cookie
    assert csrf
    html = response.text
    assert "Cotton kurta" in html and "Gift wrap" in html
    assert "₹3,248.50" in html and "₹1,499.00 each" in html
    assert "<script" not in html and "upi://" not in html
    for bad in ("/checkout/nope", "/checkout/" + "A" * 40, "/checkout/nope/status"):
        assert (await client.get(bad)).status_code == 404
    assert (await client.post("/checkout/nope/pay", data={})).status_code == 404


async def test_a_declined_card_then_a_good_one(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    made = await session(client, merchant)
    path = path_of(made)
    declined = await pay(client, path, **card("4000000000000002"))
    assert declined.status_code == 303 and "error=" in declined.headers["location"]
    shown = await client.get(declined.headers["location"])
    assert "Your card was declined" in shown.text and "pay-card" in shown.text
    assert (await get(client, merchant, f"/v1/checkout/sessions/{made['id']}"))["status"] == "open"
    forged = await client.post(f"{path}/pay", data={"csrf": "x", **card("4242424242424242")})
    assert forged.headers["location"].endswith("?error=csrf")
    paid = await pay(client, path, **card("4242424242424242"))
    assert paid.headers["location"] == path
    done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert (done["status"], done["payment_status"]) == ("complete", "paid")
    assert await events_of(database, made["id"]) == ["checkout.session.completed"]
    intent = await get(client, merchant, f"/v1/payment_intents/{done['payment_intent']}")
    assert intent["amount_received"] == 324_850


async def test_three_d_secure_comes_back_to_the_page_and_completes(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    made = await session(client, merchant)
    path = path_of(made)
    challenged = await pay(client, path, **card("4000002500003155"))
    challenge = httpx.URL(challenged.headers["location"]).path
    assert challenge.startswith("/sandbox/3ds/")
    assert (await get(client, merchant, f"/v1/checkout/sessions/{made['id']}"))["status"] == "open"
    answered = await client.post(challenge, data={"outcome": "complete"})
    assert httpx.URL(answered.headers["location"]).path == path
    done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert done["status"] == "complete" and done["payment_status"] == "paid"


async def test_upi_by_app_shows_a_qr_code_with_the_session_as_tr(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    made = await session(client, merchant)
    path = path_of(made)
    waiting = await pay(client, path, method="upi")
    assert waiting.headers["location"] == path
    html = (await client.get(path)).text
    link = re.search(r'href="(upi://pay\?[^"]+)"', html)
    assert link is not None and "<svg" in html and "/static/checkout.js" in html
    before = (await client.get(f"{path}/status")).json()["status"]
    assert before == "open:unpaid:requires_action"
    assert (await client.get("/static/checkout.js")).status_code == 200
    query = dict(
        pair.split("=", 1)
        for pair in link.group(1).split("?", 1)[1].replace("&amp;", "&").split("&")
    )
    assert unquote(query["tr"]) == made["id"] and query["am"] == "3248.50"
    assert query["cu"] == "INR"
    assert await deliver_callbacks(database) >= 1  # the sandbox payer pays in their app
    assert (await client.get(f"{path}/status")).json()["status"] == "complete:paid:succeeded"
    done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert done["status"] == "complete" and done["payment_status"] == "paid"


async def test_upi_collect_to_a_typed_vpa(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    made = await session(client, merchant)
    path = path_of(made)
    sent = await pay(client, path, method="upi", vpa="success@sandbox")
    assert sent.headers["location"] == path
    html = (await client.get(path)).text
    assert 'data-testid="upi-collect"' in html and "success@sandbox" not in html
    assert await deliver_callbacks(database) >= 1  # the payer approves the request
    done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert done["status"] == "complete" and done["payment_status"] == "paid"
    assert "checkout.session.completed" in await events_of(database, made["id"])


async def test_net_banking_goes_through_the_bank_page(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    made = await session(client, merchant)
    path = path_of(made)
    redirected = await pay(client, path, method="netbanking", bank="HDFC")
    bank = httpx.URL(redirected.headers["location"]).path
    assert bank.startswith("/sandbox/bank/")
    answered = await client.post(bank, data={"outcome": "complete"})
    assert httpx.URL(answered.headers["location"]).path == path
    done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert done["status"] == "complete" and done["payment_status"] == "paid"


async def test_the_expiry_job_expires_an_open_session_and_cancels_its_payment(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    made = await session(client, merchant)
    jobs = [args for args in await queued(database, "checkout:expire")]
    assert {"checkout_session": made["id"]} in jobs  # deferred at creation, for expires_at
    path = path_of(made)
    _, csrf = await page(client, path)
    await pay(client, path, method="upi")  # an intent waiting for the payer's app
    await expire_on(database, made["id"])
    await expire_on(database, made["id"])  # run twice: nothing more
    expired = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert expired["status"] == "expired" and expired["url"] is None
    intent = await get(client, merchant, f"/v1/payment_intents/{expired['payment_intent']}")
    assert intent["status"] == "canceled"
    assert await events_of(database, made["id"]) == ["checkout.session.expired"]
    refused = await client.post(f"{path}/pay", data={"csrf": csrf, **card("4242424242424242")})
    assert refused.headers["location"].endswith("?error=expired")
    assert (await get(client, merchant, f"/v1/checkout/sessions/{made['id']}"))[
        "status"
    ] == "expired"


async def test_a_upi_payment_that_completes_later_records_its_async_outcome(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    """A deemed UPI collect (``pending@sandbox``): the session completes unpaid when the
    payment is submitted (processing), then ``async_payment_succeeded`` once a status check
    finds it paid; a collect that times out (``timeout@sandbox``) ends
    ``async_payment_failed``, the session complete and unpaid (Stripe's order)."""
    clock = FrozenClock(datetime.now(UTC))
    with use_clock(clock):
        deemed = await session(client, merchant)
        timing_out = await session(client, merchant)
        await pay(client, path_of(deemed), method="upi", vpa="pending@sandbox")
        await pay(client, path_of(timing_out), method="upi", vpa="timeout@sandbox")
        await deliver_callbacks(database)
        for made in (deemed, timing_out):
            found = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
            intent = await get(client, merchant, f"/v1/payment_intents/{found['payment_intent']}")
            assert intent["status"] == "processing"
            assert (found["status"], found["payment_status"]) == ("complete", "unpaid")
            assert await events_of(database, made["id"]) == ["checkout.session.completed"]
        for _ in range(10):
            clock.advance(timedelta(hours=1))
            await reconcile_due_charges(database)
        paid = await get(client, merchant, f"/v1/checkout/sessions/{deemed['id']}")
        assert (paid["status"], paid["payment_status"]) == ("complete", "paid")
        deemed_events = await events_of(database, deemed["id"])
        failed = await get(client, merchant, f"/v1/checkout/sessions/{timing_out['id']}")
        failed_events = await events_of(database, timing_out["id"])
    assert deemed_events == [
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
    ]
    assert (failed["status"], failed["payment_status"]) == ("complete", "unpaid")
    assert failed_events == [
        "checkout.session.completed",
        "checkout.session.async_payment_failed",
    ]
