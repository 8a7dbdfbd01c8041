"""The official ``stripe`` SDK saving cards for later over real HTTP: a SetupIntent (with 3-D
Secure on the sandbox page) then an off-session charge of the saved card; an off-session charge
that needs authentication failing with ``authentication_required``; a customer made with a
payment method as its default; a payment saving its card with ``setup_future_usage``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import stripe

from beyondpay.kit.settings import Settings
from tests.compat.server import CLIENT_TIMEOUT_S, new_merchant, sdk_client, serving
from tests.support import TEST_RING_TEXT, TestMerchant


@pytest.fixture(scope="module")
def setup_server_url(compat_database_url: str) -> Iterator[str]:
    settings = Settings(secret_keys=TEST_RING_TEXT, rate_limit_test_per_key="1000/second")
    with serving(settings, compat_database_url) as url:
        yield url


@pytest.fixture
async def saver(compat_database_url: str) -> AsyncIterator[TestMerchant]:
    yield await new_merchant(compat_database_url)


@pytest.fixture
def client(setup_server_url: str, saver: TestMerchant) -> stripe.StripeClient:
    return sdk_client(setup_server_url, saver.keys["sk_test"])


def _authenticate(server_url: str, intent: Any) -> None:
    """The payer completes 3-D Secure on the sandbox page the intent's next_action names."""
    assert intent.status == "requires_action"
    assert intent.next_action is not None and intent.next_action.type == "redirect_to_url"
    page = httpx.URL(intent.next_action.redirect_to_url.url)
    url = server_url + page.raw_path.decode()
    assert httpx.get(url, timeout=CLIENT_TIMEOUT_S).status_code == 200
    assert httpx.post(url, data={"outcome": "complete"}, timeout=CLIENT_TIMEOUT_S).status_code in (
        200,
        303,
    )


def _save_card(client: stripe.StripeClient, server_url: str, customer: str, card: str) -> Any:
    intent = client.v1.setup_intents.create(
        {
            "customer": customer,
            "payment_method": card,
            "usage": "off_session",
            "confirm": True,
            "return_url": "https://shop.example/saved",
        }
    )
    _authenticate(server_url, intent)
    saved = client.v1.setup_intents.retrieve(intent.id)
    assert saved.status == "succeeded"
    return saved


def test_a_card_saved_with_a_setup_intent_is_charged_off_session(
    client: stripe.StripeClient, setup_server_url: str
) -> None:
    customer = client.v1.customers.create({"email": "asha@example.com"})
    setup = _save_card(
        client, setup_server_url, customer.id, "pm_card_authenticationRequiredOnSetup"
    )
    assert setup.usage == "off_session" and isinstance(setup.payment_method, str)
    method = client.v1.customers.payment_methods.retrieve(customer.id, setup.payment_method)
    assert method.customer == customer.id
    payment = client.v1.payment_intents.create(
        {
            "amount": 49_900,
            "currency": "inr",
            "customer": customer.id,
            "payment_method": setup.payment_method,
            "off_session": True,
            "confirm": True,
        }
    )
    assert payment.status == "succeeded"
    listed = client.v1.setup_intents.list({"customer": customer.id})
    assert [item.id for item in listed.data] == [setup.id]


def test_an_off_session_charge_that_needs_authentication_fails(
    client: stripe.StripeClient, setup_server_url: str
) -> None:
    customer = client.v1.customers.create({"name": "Ravi"})
    setup = _save_card(client, setup_server_url, customer.id, "pm_card_authenticationRequired")
    with pytest.raises(stripe.CardError) as raised:
        client.v1.payment_intents.create(
            {
                "amount": 49_900,
                "currency": "inr",
                "customer": customer.id,
                "payment_method": setup.payment_method,
                "off_session": True,
                "confirm": True,
            }
        )
    error = raised.value
    assert error.code == "authentication_required" and error.http_status == 402
    assert error.error is not None
    assert error.error.decline_code == "authentication_required"
    assert error.error.payment_intent is not None
    assert error.error.payment_intent.status == "requires_payment_method"


def test_a_customer_made_with_its_default_payment_method(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(
        {
            "payment_method": "pm_card_visa",
            "invoice_settings": {"default_payment_method": "pm_card_visa"},
        }
    )
    default = customer.invoice_settings.default_payment_method
    assert isinstance(default, str) and default.startswith("pm_")
    assert client.v1.customers.payment_methods.retrieve(customer.id, default).card.last4 == "4242"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.customers.update(
            customer.id, {"invoice_settings": {"default_payment_method": "pm_missing"}}
        )
    assert raised.value.param == "invoice_settings[default_payment_method]"


def test_a_payment_saves_its_card_with_setup_future_usage(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create({"name": "Meera"})
    payment = client.v1.payment_intents.create(
        {
            "amount": 1_000,
            "currency": "inr",
            "customer": customer.id,
            "payment_method": "pm_card_visa",
            "setup_future_usage": "off_session",
            "confirm": True,
        }
    )
    assert payment.status == "succeeded" and payment.setup_future_usage == "off_session"
    saved = client.v1.customers.payment_methods.list(customer.id)
    assert [item.id for item in saved.data] == [payment.payment_method]
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.setup_intents.create({"payment_method_types": ["upi"]})
    assert raised.value.param == "payment_method_types" and "mandate" in str(raised.value)
    canceled = client.v1.setup_intents.cancel(
        client.v1.setup_intents.create({}).id, {"cancellation_reason": "abandoned"}
    )
    assert canceled.status == "canceled"
