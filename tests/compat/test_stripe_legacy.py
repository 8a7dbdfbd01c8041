"""The official ``stripe`` SDK making the legacy calls test suites still make, over real HTTP on
the sandbox rails: a ``tok_visa`` charge through ``POST /v1/charges``, a token made and charged
once, a ``capture=false`` charge captured, an authorization incremented, searching payment
intents by metadata, and a refund that cannot be canceled."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import stripe

from beyondpay.kit.settings import Settings
from tests.compat.server import new_merchant, sdk_client, serving
from tests.support import TEST_RING_TEXT, TestMerchant


@pytest.fixture(scope="module")
def legacy_server_url(compat_database_url: str) -> Iterator[str]:
    settings = Settings(secret_keys=TEST_RING_TEXT, rate_limit_test_per_key="1000/second")
    with serving(settings, compat_database_url) as url:
        yield url


@pytest.fixture
async def payer(compat_database_url: str) -> AsyncIterator[TestMerchant]:
    yield await new_merchant(compat_database_url)


@pytest.fixture
def client(legacy_server_url: str, payer: TestMerchant) -> stripe.StripeClient:
    return sdk_client(legacy_server_url, payer.keys["sk_test"])


def test_tok_visa_charge(client: stripe.StripeClient) -> None:
    charge = client.v1.charges.create(
        {
            "amount": 2_000,
            "currency": "inr",
            "source": "tok_visa",
            "description": "Order 42",
            "metadata": {"order": "42"},
        }
    )
    assert isinstance(charge, stripe.Charge)
    assert (charge.status, charge.paid, charge.captured) == ("succeeded", True, True)
    assert charge.amount_captured == 2_000 and charge.metadata["order"] == "42"
    assert charge.payment_method_details is not None
    assert charge.payment_method_details.card is not None
    assert charge.payment_method_details.card.last4 == "4242"
    with pytest.raises(stripe.CardError) as declined:
        client.v1.charges.create(
            {"amount": 2_000, "currency": "inr", "source": "tok_chargeDeclined"}
        )
    assert declined.value.code == "card_declined"
    assert declined.value.error is not None and declined.value.error.charge is not None


def test_a_token_is_charged_once(client: stripe.StripeClient) -> None:
    token = client.v1.tokens.create(
        {
            "card": {
                "number": "4242424242424242",
                "exp_month": "12",
                "exp_year": "2040",
                "cvc": "123",
            }
        }
    )
    assert isinstance(token, stripe.Token) and token.used is False
    assert token.card is not None and token.card.last4 == "4242"
    charge = client.v1.charges.create({"amount": 1_500, "currency": "inr", "source": token.id})
    assert charge.status == "succeeded"
    assert client.v1.tokens.retrieve(token.id).used is True
    with pytest.raises(stripe.InvalidRequestError) as reused:
        client.v1.charges.create({"amount": 1_500, "currency": "inr", "source": token.id})
    assert reused.value.code == "token_already_used" and reused.value.param == "source"
    method = client.v1.payment_methods.create({"type": "card", "card": {"token": "tok_mastercard"}})
    assert method.card is not None and method.card.last4 == "4444"


def test_capture_a_capture_false_charge(client: stripe.StripeClient) -> None:
    held = client.v1.charges.create(
        {"amount": 5_000, "currency": "inr", "source": "tok_visa", "capture": False}
    )
    assert (held.captured, held.amount_captured, held.status) == (False, 0, "succeeded")
    captured = client.v1.charges.capture(held.id, {"amount": 4_000})
    assert (captured.captured, captured.amount_captured) == (True, 4_000)
    with pytest.raises(stripe.InvalidRequestError) as twice:
        client.v1.charges.capture(held.id)
    assert twice.value.code == "charge_already_captured"


def test_search_payment_intents_by_metadata(client: stripe.StripeClient) -> None:
    wanted = client.v1.payment_intents.create(
        {"amount": 4_200, "currency": "inr", "metadata": {"order": "42"}}
    )
    client.v1.payment_intents.create({"amount": 700, "currency": "inr", "metadata": {"order": "7"}})
    found = client.v1.payment_intents.search({"query": "metadata['order']:'42'"})
    assert isinstance(found, stripe.SearchResultObject)
    assert [intent.id for intent in found.data] == [wanted.id]
    assert found.has_more is False
    charge = client.v1.charges.create({"amount": 900, "currency": "inr", "source": "tok_amex"})
    by_brand = client.v1.charges.search({"query": "payment_method_details.card.brand:'amex'"})
    assert [item.id for item in by_brand.data] == [charge.id]
    ids = [
        intent.id
        for intent in client.v1.payment_intents.search(
            {"query": "amount>0", "limit": 1}
        ).auto_paging_iter()
    ]
    assert len(ids) == len(set(ids)) == 3  # two made here, and the charge's intent
    with pytest.raises(stripe.InvalidRequestError) as bad:
        client.v1.payment_intents.search({"query": "colour:'red'"})
    assert bad.value.param == "query"


def test_cancel_a_refund_that_does_not_wait_for_the_customer(client: stripe.StripeClient) -> None:
    charge = client.v1.charges.create({"amount": 3_000, "currency": "inr", "source": "tok_visa"})
    refund = client.v1.refunds.create({"charge": charge.id, "amount": 1_000})
    assert refund.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.cancel(refund.id)
    assert refused.value.code == "refund_unexpected_state"


def test_increment_authorization_then_capture(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(
        {
            "amount": 3_000,
            "currency": "inr",
            "payment_method": "pm_card_visa",
            "capture_method": "manual",
            "confirm": True,
            "payment_method_options": {
                "card": {"request_incremental_authorization": "if_available"}
            },
        }
    )
    assert intent.status == "requires_capture"
    assert intent.payment_method_options is not None
    assert intent.payment_method_options.card is not None
    assert intent.payment_method_options.card.request_incremental_authorization == "if_available"
    raised = client.v1.payment_intents.increment_authorization(intent.id, {"amount": 4_000})
    assert (raised.amount, raised.amount_capturable) == (4_000, 4_000)
    captured = client.v1.payment_intents.capture(intent.id)
    assert (captured.status, captured.amount_received) == ("succeeded", 4_000)
    with pytest.raises(stripe.InvalidRequestError) as late:
        client.v1.payment_intents.increment_authorization(intent.id, {"amount": 5_000})
    assert late.value.code == "payment_intent_unexpected_state"
