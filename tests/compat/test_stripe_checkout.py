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
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import stripe

from tests.compat.server import new_merchant, sdk_client
from tests.support import TestMerchant

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
    assert made.url is not None
    path = httpx.URL(made.url).path
    with httpx.Client(base_url=server_url) as browser:
        page = browser.get(path)
        csrf = _CSRF.search(page.text)
        assert csrf is not None
        paid = browser.post(
            f"{path}/pay",
            data={
                "csrf": csrf.group(1),
                "method": "card",
                "number": "4242424242424242",
                "exp_month": "12",
                "exp_year": "34",
                "cvc": "123",
            },
        )
        assert paid.status_code == 303
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
    assert made.url is not None
    path = httpx.URL(made.url).path
    with httpx.Client(base_url=server_url) as browser:
        page = browser.get(path)
        csrf = _CSRF.search(page.text)
        assert csrf is not None
        paid = browser.post(
            f"{path}/pay",
            data={
                "csrf": csrf.group(1),
                "method": "card",
                "number": "4242424242424242",
                "exp_month": "12",
                "exp_year": "34",
                "cvc": "123",
            },
        )
        assert paid.status_code == 303
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
