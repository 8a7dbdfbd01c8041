"""The official ``stripe`` SDK driving Checkout Sessions (payment mode) over real HTTP: a
session created with an inline price and a catalog price, read back as the SDK's
``checkout.Session``, its line items listed (with auto-paging), listed by status, expired; a
session paid on its hosted page (a plain HTTP client posting the card form), whose
``checkout.session.completed`` event is the session as Stripe renders it and goes through the
SDK's webhook parsing (``stripe.Webhook.construct_event``) as a ``checkout.Session``."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

import httpx
import orjson
import pytest
import stripe

from beyondpay.db.session import Database
from beyondpay.events.tasks import number_events_on
from beyondpay.webhooks.deliveries import deliver_due_on, schedule_on
from tests.compat.server import CLIENT_TIMEOUT_S, new_merchant, sdk_client
from tests.events.support import numbering_pool
from tests.support import TestMerchant, ring_for_tests

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
_SECRET = "whsec_checkout_compat"


@pytest.fixture
async def checkout_merchant(compat_database_url: str) -> AsyncIterator[TestMerchant]:
    yield await new_merchant(compat_database_url)


@pytest.fixture
def client(server_url: str, checkout_merchant: TestMerchant) -> stripe.StripeClient:
    return sdk_client(server_url, checkout_merchant.keys["sk_test"])


def _session(client: stripe.StripeClient) -> stripe.checkout.Session:
    price = client.v1.prices.create(
        {"currency": "inr", "unit_amount": 49_900, "product_data": {"name": "Tea sampler"}}
    )
    return client.v1.checkout.sessions.create(
        {
            "mode": "payment",
            "success_url": "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://shop.example/cart",
            "customer_email": "asha@example.in",
            "payment_method_types": ["card", "upi"],
            "line_items": [
                {"price": price.id, "quantity": 2},
                {
                    "price_data": {
                        "currency": "inr",
                        "unit_amount": 15_000,
                        "product_data": {"name": "Teapot"},
                    },
                    "quantity": 1,
                },
            ],
            "metadata": {"order": "42"},
        }
    )


_CARD_4242: Final = {
    "method": "card",
    "number": "4242424242424242",
    "exp_month": "12",
    "exp_year": "34",
    "cvc": "123",
}


def _submit_card(server_url: str, url: str | None, form: str = "pay") -> None:
    """The customer on the session's hosted page (``url``): its card form posted with 4242 and
    the page's CSRF token, answered 303 (on to the shop, or back to the page)."""
    assert url is not None
    path = httpx.URL(url).path
    with httpx.Client(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as browser:
        csrf = _CSRF.search(browser.get(path).text)
        assert csrf is not None
        answer = browser.post(f"{path}/{form}", data={"csrf": csrf.group(1), **_CARD_4242})
        assert answer.status_code == 303, answer.text


def test_a_session_is_created_read_listed_and_expired(client: stripe.StripeClient) -> None:
    made = _session(client)
    assert isinstance(made, stripe.checkout.Session)
    assert made.id.startswith("cs_test_") and made.status == "open"
    assert made.amount_total == 2 * 49_900 + 15_000 and made.currency == "inr"
    assert made.payment_status == "unpaid" and made.payment_method_types == ["card", "upi"]
    assert made.url is not None and made.metadata.to_dict() == {"order": "42"}
    read = client.v1.checkout.sessions.retrieve(made.id)
    assert read.id == made.id and read.customer_email == "asha@example.in"
    items = list(
        client.v1.checkout.sessions.line_items.list(made.id, {"limit": 1}).auto_paging_iter()
    )
    assert [(item.description, item.quantity, item.amount_total) for item in items] == [
        ("Tea sampler", 2, 99_800),
        ("Teapot", 1, 15_000),
    ]
    assert isinstance(items[0], stripe.LineItem) and items[1].price.active is False
    opened = client.v1.checkout.sessions.list({"status": "open"})
    assert made.id in [item.id for item in opened.data]
    expired = client.v1.checkout.sessions.expire(made.id)
    assert expired.status == "expired" and expired.url is None
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.checkout.sessions.expire(made.id)
    assert raised.value.code == "checkout_session_not_open"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.checkout.sessions.create(
            {
                "mode": "payment",
                "expires_at": int(time.time()) + 60,
                "line_items": [
                    {
                        "price_data": {
                            "currency": "inr",
                            "unit_amount": 100,
                            "product_data": {"name": "x"},
                        },
                        "quantity": 1,
                    }
                ],
            }
        )
    assert refused.value.param == "expires_at"


def test_completed_is_the_session_as_stripe_renders_it(
    client: stripe.StripeClient, server_url: str
) -> None:
    made = _session(client)
    _submit_card(server_url, made.url)
    done = client.v1.checkout.sessions.retrieve(made.id)
    assert done.status == "complete" and done.payment_status == "paid"
    assert isinstance(done.payment_intent, str)
    intent = client.v1.payment_intents.retrieve(done.payment_intent)
    assert intent.status == "succeeded" and intent.amount == done.amount_total
    events = client.v1.events.list({"type": "checkout.session.completed"})
    (event,) = [e for e in events.data if e.data.object["id"] == made.id]
    # As a webhook delivers it: signed, parsed by the SDK into its classes.
    payload = json.dumps(event.to_dict())
    stamp = int(time.time())
    signature = hmac.new(
        _SECRET.encode(), f"{stamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    parsed = stripe.Webhook.construct_event(payload, f"t={stamp},v1={signature}", _SECRET)
    session = parsed.data.object
    assert parsed.type == "checkout.session.completed"
    assert isinstance(session, stripe.checkout.Session)
    assert session.id == made.id and session.status == "complete"
    assert session.payment_status == "paid" and session.url is None
    assert session.amount_total == made.amount_total and session.payment_intent == intent.id
    assert session.customer_details is not None
    assert session.customer_details.email == "asha@example.in"
    assert session.to_dict() == {**done.to_dict(), "url": None}


class _Endpoint:
    """The merchant's webhook endpoint: a real HTTP server on loopback recording each POST."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stripe/webhooks"


@pytest.fixture
def endpoint() -> Iterator[_Endpoint]:
    found = _Endpoint()
    thread = threading.Thread(target=found.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found
    finally:
        found.server.shutdown()
        found.server.server_close()


async def test_a_webhook_endpoint_receives_completed_as_the_session_reads(
    client: stripe.StripeClient,
    server_url: str,
    compat_database_url: str,
    checkout_merchant: TestMerchant,
    endpoint: _Endpoint,
) -> None:
    """Delivered, not rebuilt: the worker's jobs (numbering, scheduling, delivery) run as the
    worker runs them, POST the event to the endpoint, and the official SDK verifies it."""
    hook = client.v1.webhook_endpoints.create(
        {"url": endpoint.url, "enabled_events": ["checkout.session.completed"]}
    )
    assert hook.secret is not None
    made = _session(client)
    assert made.url is not None
    path = httpx.URL(made.url).path
    async with httpx.AsyncClient(base_url=server_url, timeout=CLIENT_TIMEOUT_S) as browser:
        page = await browser.get(path)
        csrf = _CSRF.search(page.text)
        assert csrf is not None
        form = {"method": "card", "number": "4242424242424242", "exp_month": "12"}
        paid = await browser.post(
            f"{path}/pay",
            data={"csrf": csrf.group(1), **form, "exp_year": "34", "cvc": "123"},
        )
        assert paid.status_code == 303
        read = await browser.get(
            f"/v1/checkout/sessions/{made.id}", headers=checkout_merchant.auth()
        )
    assert read.status_code == 200, read.text
    database = Database(compat_database_url, pool_size=1, max_overflow=1)
    try:
        async with numbering_pool(database) as pool:
            await number_events_on(pool, checkout_merchant.id, False)
        await schedule_on(database, checkout_merchant.id, False)
        delivered = await deliver_due_on(database, ring_for_tests(), allow_private_test_urls=True)
    finally:
        await database.dispose()
    assert delivered == 1
    [(headers, body)] = endpoint.received
    event = stripe.Webhook.construct_event(body.decode(), headers["Stripe-Signature"], hook.secret)
    assert event.type == "checkout.session.completed"
    session = event.data.object
    assert isinstance(session, stripe.checkout.Session)
    assert (session.status, session.payment_status) == ("complete", "paid")
    assert isinstance(session.payment_intent, str) and session.url is None
    assert orjson.loads(body)["data"]["object"] == read.json()


def test_a_setup_mode_session_is_created_and_read_back(
    client: stripe.StripeClient, server_url: str
) -> None:
    """Setup mode (``mode=setup``): no line items, amounts of 0, ``no_payment_required``; the
    card saved on the page names its ``setup_intent``, which the SDK reads as a SetupIntent."""
    made = client.v1.checkout.sessions.create(
        {
            "mode": "setup",
            "currency": "inr",
            "payment_method_types": ["card"],
            "customer_creation": "always",
            "customer_email": "asha@example.in",
            "success_url": "https://shop.example/saved?session={CHECKOUT_SESSION_ID}",
            "setup_intent_data": {"description": "Card for renewals", "metadata": {"crm": "7"}},
        }
    )
    assert isinstance(made, stripe.checkout.Session)
    assert made.mode == "setup" and made.status == "open" and made.setup_intent is None
    assert made.amount_total == 0 and made.payment_status == "no_payment_required"
    _submit_card(server_url, made.url, "setup")
    done = client.v1.checkout.sessions.retrieve(made.id)
    assert done.status == "complete" and done.payment_status == "no_payment_required"
    assert isinstance(done.setup_intent, str) and isinstance(done.customer, str)
    intent = client.v1.setup_intents.retrieve(done.setup_intent)
    assert isinstance(intent, stripe.SetupIntent) and intent.status == "succeeded"
    assert intent.description == "Card for renewals" and intent.usage == "off_session"
    methods = client.v1.customers.payment_methods.list(done.customer)
    assert [method.id for method in methods.data] == [intent.payment_method]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.checkout.sessions.create(
            {"mode": "setup", "payment_method_types": ["card", "upi"]}
        )
    assert refused.value.param == "payment_method_types[1]"


def test_a_subscription_session_is_created_paid_and_read_with_its_subscription(
    client: stripe.StripeClient, server_url: str
) -> None:
    """Subscription mode: a recurring price and an inline ``price_data[recurring]``, read back
    after the card form is posted with ``expand=["subscription"]`` as a ``stripe.Subscription``."""
    price = client.v1.prices.create(
        {
            "currency": "inr",
            "unit_amount": 49_900,
            "recurring": {"interval": "month"},
            "product_data": {"name": "Pro"},
        }
    )
    made = client.v1.checkout.sessions.create(
        {
            "mode": "subscription",
            "success_url": "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}",
            "customer_email": "asha@example.in",
            "line_items": [
                {"price": price.id, "quantity": 1},
                {
                    "price_data": {
                        "currency": "inr",
                        "unit_amount": 10_000,
                        "product_data": {"name": "Seat"},
                        "recurring": {"interval": "month"},
                    },
                    "quantity": 2,
                },
            ],
            "subscription_data": {"metadata": {"plan": "pro"}, "description": "Pro plan"},
        }
    )
    assert isinstance(made, stripe.checkout.Session)
    assert made.mode == "subscription" and made.subscription is None
    assert made.amount_total == 49_900 + 2 * 10_000 and made.payment_method_types == ["card"]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.checkout.sessions.create(
            {
                "mode": "subscription",
                "payment_method_types": ["upi"],
                "line_items": [{"price": price.id, "quantity": 1}],
            }
        )
    assert refused.value.param == "payment_method_types[0]"
    _submit_card(server_url, made.url)
    done = client.v1.checkout.sessions.retrieve(made.id, {"expand": ["subscription"]})
    assert done.status == "complete" and done.payment_status == "paid"
    subscription = done.subscription
    assert isinstance(subscription, stripe.Subscription)
    assert subscription.status == "active" and subscription.description == "Pro plan"
    assert subscription.metadata.to_dict() == {"plan": "pro", "checkout_session": made.id}
    assert isinstance(subscription.default_payment_method, str)
    assert done.invoice == subscription.latest_invoice
    plain = client.v1.checkout.sessions.retrieve(made.id)
    assert plain.subscription == subscription.id
