"""The official ``stripe`` SDK sending the parameters current integrations send with an intent
(issue 17): ``automatic_payment_methods``, ``payment_method_options.card.request_three_d_secure``
(``any``: 3-D Secure even for 4242…), ``shipping`` and ``statement_descriptor_suffix``, then
reading the latest charge's ``calculated_statement_descriptor`` — over real HTTP, as the SDK
encodes them (brackets, indexed lists, booleans as words)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import stripe

from tests.compat.server import CLIENT_TIMEOUT_S, new_merchant, sdk_client
from tests.support import TestMerchant


@pytest.fixture
async def payer(compat_database_url: str) -> AsyncIterator[TestMerchant]:
    yield await new_merchant(compat_database_url)  # named "Acme": its descriptor is ACME


@pytest.fixture
def client(server_url: str, payer: TestMerchant) -> stripe.StripeClient:
    return sdk_client(server_url, payer.keys["sk_test"])


SHIPPING = {
    "name": "Asha Rao",
    "phone": "+919800000001",
    "carrier": "India Post",
    "tracking_number": "EE123456789IN",
    "address": {"line1": "12 MG Road", "city": "Bengaluru", "postal_code": "560001"},
}


def test_an_intent_with_current_parameters_pays_after_three_d_secure(
    client: stripe.StripeClient, server_url: str
) -> None:
    intent = client.v1.payment_intents.create(
        {
            "amount": 2_500,
            "currency": "inr",
            "automatic_payment_methods": {"enabled": True},
            "payment_method_options": {"card": {"request_three_d_secure": "any"}},
            "shipping": SHIPPING,  # type: ignore[typeddict-item]
            "statement_descriptor_suffix": "Order 42",
            "receipt_email": "asha@example.com",
            "metadata": {"order": "42"},
        }
    )
    assert intent.payment_method_types == ["card", "upi", "netbanking"]
    assert intent.automatic_payment_methods is not None
    assert intent.automatic_payment_methods.enabled is True
    assert intent.automatic_payment_methods.allow_redirects == "always"
    assert intent.payment_method_options is not None
    assert intent.payment_method_options.card is not None
    assert intent.payment_method_options.card.request_three_d_secure == "any"
    assert intent.shipping is not None and intent.shipping.name == "Asha Rao"
    assert intent.shipping.address.city == "Bengaluru"
    assert intent.statement_descriptor_suffix == "Order 42"

    confirmed = client.v1.payment_intents.confirm(
        intent.id, {"payment_method": "pm_card_visa", "return_url": "https://shop.example/done"}
    )
    assert confirmed.status == "requires_action"  # 4242… authenticates because it was asked to
    assert confirmed.next_action is not None
    page = httpx.URL(confirmed.next_action.redirect_to_url.url)  # type: ignore[union-attr]
    done = httpx.post(
        server_url + page.raw_path.decode(), data={"outcome": "complete"}, timeout=CLIENT_TIMEOUT_S
    )
    assert done.status_code == 303
    paid = client.v1.payment_intents.retrieve(intent.id, {"expand": ["latest_charge"]})
    assert paid.status == "succeeded"
    charge = paid.latest_charge
    assert isinstance(charge, stripe.Charge)
    assert charge.calculated_statement_descriptor == "ACME* ORDER 42"
    assert charge.receipt_email == "asha@example.com"
    assert charge.shipping is not None and charge.shipping.tracking_number == "EE123456789IN"


def test_the_sdk_sees_bad_parameters_named(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.InvalidRequestError) as both:
        client.v1.payment_intents.create(
            {
                "amount": 2_500,
                "currency": "inr",
                "automatic_payment_methods": {"enabled": True},
                "payment_method_types": ["card"],
            }
        )
    assert both.value.param == "payment_method_types"
    with pytest.raises(stripe.InvalidRequestError) as mandate:
        client.v1.payment_intents.create(
            {
                "amount": 2_500,
                "currency": "inr",
                "payment_method_types": ["upi"],
                "payment_method_options": {
                    "upi": {"mandate_options": {"amount": 2_500, "amount_type": "maximum"}}
                },
            }
        )
    assert mandate.value.param == "payment_method_options[upi][mandate_options]"
    excluded = client.v1.payment_intents.create(
        {
            "amount": 2_500,
            "currency": "inr",
            "automatic_payment_methods": {"enabled": True, "allow_redirects": "never"},
            "excluded_payment_method_types": ["upi"],
        }
    )
    assert excluded.payment_method_types == ["card"]
    assert excluded.excluded_payment_method_types == ["upi"]


def test_a_customer_with_shipping(client: stripe.StripeClient) -> None:
    customer = client.v1.customers.create(
        {"name": "Asha Rao", "shipping": {"name": "Asha Rao", "address": {"city": "Pune"}}}
    )
    assert customer.shipping is not None and customer.shipping.address is not None
    assert customer.shipping.address.city == "Pune"
