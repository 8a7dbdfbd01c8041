"""The official SDK with a publishable key, as a browser integration uses one: it creates a
payment method and confirms a PaymentIntent with the intent's client secret, and the errors it
meets otherwise are the classes the SDK raises for them."""

from __future__ import annotations

import pytest
import stripe

from tests.compat.server import sdk_client
from tests.support import TestMerchant

CARD = {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}


def test_a_publishable_key_pays_an_intent_with_its_client_secret(
    server_url: str, sdk_merchant: TestMerchant
) -> None:
    server = sdk_client(server_url, sdk_merchant.keys["sk_test"])
    browser = sdk_client(server_url, sdk_merchant.keys["pk_test"])
    intent = server.v1.payment_intents.create(params={"amount": 49900, "currency": "inr"})
    assert intent.client_secret is not None

    method = browser.v1.payment_methods.create(params={"type": "card", "card": CARD})
    assert method.id.startswith("pm_")
    assert method.card is not None and method.card.last4 == "4242"

    seen = browser.v1.payment_intents.retrieve(
        intent.id, params={"client_secret": intent.client_secret}
    )
    assert seen.status == "requires_payment_method"
    assert "metadata" not in seen

    confirmed = browser.v1.payment_intents.confirm(
        intent.id,
        params={"client_secret": intent.client_secret, "payment_method": method.id},
    )
    assert confirmed.status == "succeeded"
    assert server.v1.payment_intents.retrieve(intent.id).amount_received == 49900


def test_a_publishable_key_meets_the_sdks_error_classes(
    server_url: str, sdk_merchant: TestMerchant
) -> None:
    server = sdk_client(server_url, sdk_merchant.keys["sk_test"])
    browser = sdk_client(server_url, sdk_merchant.keys["pk_test"])
    intent = server.v1.payment_intents.create(params={"amount": 49900, "currency": "inr"})
    other = server.v1.payment_intents.create(params={"amount": 100, "currency": "inr"})

    with pytest.raises(stripe.PermissionError) as missing:
        browser.v1.payment_intents.retrieve(intent.id)
    assert missing.value.error is not None
    assert missing.value.error.code == "client_secret_required"
    with pytest.raises(stripe.InvalidRequestError) as wrong:
        browser.v1.payment_intents.confirm(
            other.id,
            params={"client_secret": intent.client_secret, "payment_method": "pm_card_visa"},
        )
    assert wrong.value.http_status == 404
    assert wrong.value.error is not None
    assert wrong.value.error.code == "resource_missing"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        browser.v1.payment_intents.confirm(
            intent.id,
            params={
                "client_secret": intent.client_secret,
                "payment_method": "pm_card_visa",
                "capture_method": "manual",
            },
        )
    assert refused.value.param == "capture_method"
    with pytest.raises(stripe.PermissionError):
        browser.v1.payment_intents.list()
    assert server.v1.payment_intents.retrieve(other.id).status == "requires_payment_method"
