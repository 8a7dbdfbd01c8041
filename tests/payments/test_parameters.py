"""The parameters real integrations send with a payment intent, over HTTP: how its payment
method types are chosen (``automatic_payment_methods``, ``allowed_payment_method_types``,
``excluded_payment_method_types``), ``payment_method_options`` (3-D Secure asked for, manual
capture of cards, UPI's saving refused), ``shipping`` (intents, charges, customers), statement
descriptors and ``receipt_email`` carried to the charge. Each is accepted, rendered, has its
effect, and a bad value is refused naming it (in the bracket form the SDKs send)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.payments.support import get, pay, post
from tests.support import TestMerchant

INTENTS = "/v1/payment_intents"
SHIPPING = {
    "shipping[name]": "Asha Rao",
    "shipping[phone]": "+919800000001",
    "shipping[carrier]": "India Post",
    "shipping[tracking_number]": "EE123456789IN",
    "shipping[address][line1]": "12 MG Road",
    "shipping[address][city]": "Bengaluru",
    "shipping[address][postal_code]": "560001",
    "shipping[address][country]": "IN",
}


async def _create(client: httpx.AsyncClient, merchant: TestMerchant, **params: Any) -> Any:
    body = {"amount": "10000", "currency": "inr", **params}
    response = await post(client, merchant, INTENTS, **body)
    assert response.status_code == 200, response.text
    return response.json()


async def _refused(
    client: httpx.AsyncClient, merchant: TestMerchant, path: str = INTENTS, **params: Any
) -> str:
    """The parameter a 400 names."""
    body = {"amount": "10000", "currency": "inr", **params} if path == INTENTS else params
    response = await post(client, merchant, path, **body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    return str(error["param"])


async def test_automatic_payment_methods_choose_among_the_rails_of_the_currency(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await _create(client, merchant, **{"automatic_payment_methods[enabled]": "true"})
    assert intent["payment_method_types"] == ["card", "upi", "netbanking"]
    assert intent["automatic_payment_methods"] == {"allow_redirects": "always", "enabled": True}
    no_redirects = await _create(
        client,
        merchant,
        **{
            "automatic_payment_methods[enabled]": "true",
            "automatic_payment_methods[allow_redirects]": "never",
        },
    )
    assert no_redirects["payment_method_types"] == ["card", "upi"]  # no bank login page
    assert no_redirects["automatic_payment_methods"]["allow_redirects"] == "never"
    dollars = await _create(
        client, merchant, currency="usd", **{"automatic_payment_methods[enabled]": "true"}
    )
    assert dollars["payment_method_types"] == ["card"]  # UPI and net banking carry rupees only
    # Changing the currency chooses again.
    updated = await post(client, merchant, f"{INTENTS}/{intent['id']}", currency="usd")
    assert updated.json()["payment_method_types"] == ["card"]
    plain = await _create(client, merchant)
    assert plain["payment_method_types"] == ["card"] and plain["automatic_payment_methods"] is None


async def test_an_automatic_intent_pays_with_any_method_it_chose(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await pay(
        client,
        merchant,
        **{
            "automatic_payment_methods[enabled]": "true",
            "payment_method_data[type]": "upi",
            "payment_method_data[upi][vpa]": "success@sandbox",
        },
    )
    assert intent["status"] == "requires_action"
    assert intent["next_action"]["type"] == "upi_collect"


async def test_payment_method_types_with_automatic_payment_methods_is_refused(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    both = {"automatic_payment_methods[enabled]": "true", "payment_method_types[0]": "card"}
    assert await _refused(client, merchant, **both) == "payment_method_types"
    off = {"automatic_payment_methods[enabled]": "false", "payment_method_types[0]": "upi"}
    assert (await _create(client, merchant, **off))["payment_method_types"] == ["upi"]
    redirects = {
        "automatic_payment_methods[enabled]": "true",
        "automatic_payment_methods[allow_redirects]": "sometimes",
    }
    assert (
        await _refused(client, merchant, **redirects)
        == "automatic_payment_methods[allow_redirects]"
    )
    enabled = {"automatic_payment_methods[allow_redirects]": "never"}
    assert await _refused(client, merchant, **enabled) == "automatic_payment_methods[enabled]"


async def test_allowed_and_excluded_payment_method_types(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    allowed = await _create(
        client,
        merchant,
        **{"allowed_payment_method_types[0]": "upi", "allowed_payment_method_types[1]": "klarna"},
    )
    assert allowed["payment_method_types"] == ["upi"]  # klarna is not offered here
    assert allowed["allowed_payment_method_types"] == ["upi", "klarna"]
    excluded = await _create(
        client,
        merchant,
        **{
            "automatic_payment_methods[enabled]": "true",
            "excluded_payment_method_types[0]": "card",
        },
    )
    assert excluded["payment_method_types"] == ["upi", "netbanking"]
    assert excluded["excluded_payment_method_types"] == ["card"]
    # A method of an excluded type is refused, naming the parameter that brought it.
    refused = await post(
        client, merchant, f"{INTENTS}/{excluded['id']}", payment_method="pm_card_visa"
    )
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "payment_method"
    # Excluding more on update chooses again.
    updated = await post(
        client,
        merchant,
        f"{INTENTS}/{excluded['id']}",
        **{"excluded_payment_method_types[0]": "card", "excluded_payment_method_types[1]": "upi"},
    )
    assert updated.json()["payment_method_types"] == ["netbanking"]


async def test_bad_type_choices_are_refused_naming_the_parameter(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    cases = {
        "allowed_payment_method_types": {"allowed_payment_method_types[0]": "klarna"},
        "excluded_payment_method_types": {
            "automatic_payment_methods[enabled]": "true",
            "excluded_payment_method_types[0]": "card",
            "excluded_payment_method_types[1]": "upi",
            "excluded_payment_method_types[2]": "netbanking",
        },
        "excluded_payment_method_types[0]": {"excluded_payment_method_types[0]": "Card!"},
    }
    for param, params in cases.items():
        assert await _refused(client, merchant, **params) == param
    both = {"payment_method_types[0]": "card", "excluded_payment_method_types[0]": "upi"}
    assert await _refused(client, merchant, **both) == "excluded_payment_method_types"
    named = {"payment_method_types[0]": "card", "allowed_payment_method_types[0]": "card"}
    assert await _refused(client, merchant, **named) == "allowed_payment_method_types"


async def test_request_three_d_secure_any_challenges_a_card_that_would_not_ask(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await pay(
        client,
        merchant,
        payment_method="pm_card_visa",
        return_url="https://shop.example/done",
        **{"payment_method_options[card][request_three_d_secure]": "any"},
    )
    assert intent["status"] == "requires_action"
    assert intent["payment_method_options"]["card"]["request_three_d_secure"] == "any"
    charge = await get(client, merchant, f"/v1/charges/{intent['latest_charge']}")
    assert charge["rail"]["authentication_requested"] == "request_three_d_secure"
    page_path = httpx.URL(intent["next_action"]["redirect_to_url"]["url"]).path
    await client.post(page_path, data={"outcome": "complete"})
    after = await get(client, merchant, f"{INTENTS}/{intent['id']}")
    assert after["status"] == "succeeded"
    plain = await pay(
        client,
        merchant,
        payment_method="pm_card_visa",
        **{"payment_method_options[card][request_three_d_secure]": "automatic"},
    )
    assert plain["status"] == "succeeded"
    assert (
        await _refused(
            client, merchant, **{"payment_method_options[card][request_three_d_secure]": "always"}
        )
        == "payment_method_options[card][request_three_d_secure]"
    )


async def test_card_capture_method_manual_holds_a_card_of_an_automatic_intent(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await pay(
        client,
        merchant,
        payment_method="pm_card_visa",
        **{"payment_method_options[card][capture_method]": "manual"},
    )
    assert intent["capture_method"] == "automatic"
    assert intent["status"] == "requires_capture" and intent["amount_capturable"] == 10_000
    assert intent["payment_method_options"]["card"]["capture_method"] == "manual"
    captured = await post(client, merchant, f"{INTENTS}/{intent['id']}/capture")
    assert captured.json()["status"] == "succeeded"
    # "" unsets it, as in Stripe.
    other = await _create(
        client, merchant, **{"payment_method_options[card][capture_method]": "manual"}
    )
    unset = await post(
        client,
        merchant,
        f"{INTENTS}/{other['id']}",
        **{"payment_method_options[card][capture_method]": ""},
    )
    assert unset.json()["payment_method_options"]["card"]["capture_method"] is None
    assert (
        await _refused(client, merchant, **{"payment_method_options[card][capture_method]": "x"})
        == "payment_method_options[card][capture_method]"
    )


async def test_upi_options_refuse_saving_and_mandates_naming_them(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    upi = {"payment_method_types[0]": "upi"}
    for usage in ("off_session", "on_session"):
        param = await _refused(
            client, merchant, **upi, **{"payment_method_options[upi][setup_future_usage]": usage}
        )
        assert param == "payment_method_options[upi][setup_future_usage]"
    mandate = {
        "payment_method_options[upi][mandate_options][amount]": "50000",
        "payment_method_options[upi][mandate_options][amount_type]": "maximum",
    }
    param = await _refused(client, merchant, **upi, **mandate)
    assert param == "payment_method_options[upi][mandate_options]"
    response = await post(
        client,
        merchant,
        INTENTS,
        amount=10_000,
        currency="inr",
        **upi,
        **{"payment_method_options[upi][setup_future_usage]": "none"},
    )
    assert response.json()["payment_method_options"] == {"upi": {"setup_future_usage": None}}
    netbanking = {"payment_method_options[netbanking][bank]": "HDFC"}
    assert await _refused(client, merchant, **netbanking) == "payment_method_options[netbanking]"


async def test_shipping_receipt_email_and_descriptors_are_carried_to_the_charge(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await pay(
        client,
        merchant,
        payment_method="pm_card_visa",
        receipt_email="asha@example.com",
        statement_descriptor_suffix="Order 42",
        **SHIPPING,
    )
    assert intent["shipping"] == {
        "name": "Asha Rao",
        "phone": "+919800000001",
        "carrier": "India Post",
        "tracking_number": "EE123456789IN",
        "address": {
            "line1": "12 MG Road",
            "line2": None,
            "city": "Bengaluru",
            "state": None,
            "postal_code": "560001",
            "country": "IN",
        },
    }
    assert intent["statement_descriptor_suffix"] == "Order 42"
    charge = await get(client, merchant, f"/v1/charges/{intent['latest_charge']}")
    assert charge["shipping"] == intent["shipping"]
    assert charge["receipt_email"] == "asha@example.com"
    # The merchant "Acme" has no descriptor setting: its name is its descriptor and prefix.
    assert charge["calculated_statement_descriptor"] == "ACME* ORDER 42"
    assert charge["statement_descriptor_suffix"] == "Order 42"
    updated = await post(
        client,
        merchant,
        f"/v1/charges/{charge['id']}",
        **{"shipping[name]": "Ravi", "shipping[address][city]": "Pune"},
    )
    assert updated.json()["shipping"]["name"] == "Ravi"
    plain = await pay(client, merchant, payment_method="pm_card_visa")
    plain_charge = await get(client, merchant, f"/v1/charges/{plain['latest_charge']}")
    assert plain_charge["calculated_statement_descriptor"] == "ACME"
    assert plain_charge["shipping"] is None and plain_charge["receipt_email"] is None


async def test_a_non_card_charge_shows_the_intents_statement_descriptor(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await pay(
        client,
        merchant,
        statement_descriptor="Acme Books",
        statement_descriptor_suffix="Ignored",  # a suffix is for cards only
        **{
            "payment_method_types[0]": "netbanking",
            "payment_method_data[type]": "netbanking",
            "payment_method_data[netbanking][bank]": "HDFC",
        },
    )
    charge = await get(client, merchant, f"/v1/charges/{intent['latest_charge']}")
    assert charge["calculated_statement_descriptor"] == "ACME BOOKS"
    assert charge["statement_descriptor"] == "Acme Books"
    assert charge["statement_descriptor_suffix"] is None


async def test_bad_shipping_and_descriptors_are_refused_naming_them(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    cases = {
        "shipping[name]": {"shipping[address][city]": "Pune"},
        "shipping[address]": {"shipping[name]": "Asha"},
        "shipping[carrier]": {**SHIPPING, "shipping[carrier]": "x" * 201},
        "statement_descriptor_suffix": {"statement_descriptor_suffix": "A" * 17},  # 4 + 2 + 17
        "statement_descriptor": {"statement_descriptor": "12345"},  # no letter
    }
    for param, params in cases.items():
        assert await _refused(client, merchant, **params) == param
    for bad in ("Order*42", "Ordér", 'Say "hi"'):
        param = await _refused(client, merchant, statement_descriptor_suffix=bad)
        assert param == "statement_descriptor_suffix"
    longest = await _create(client, merchant, statement_descriptor_suffix="A" * 16)
    too_long = await post(
        client, merchant, f"{INTENTS}/{longest['id']}", statement_descriptor_suffix="B" * 17
    )
    assert too_long.json()["error"]["param"] == "statement_descriptor_suffix"


async def test_shipping_is_unset_by_an_empty_value(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await _create(client, merchant, **SHIPPING)
    assert intent["shipping"]["carrier"] == "India Post"
    unset = await post(client, merchant, f"{INTENTS}/{intent['id']}", shipping="")
    assert unset.json()["shipping"] is None


async def test_a_customer_has_shipping(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    customer_shipping = {
        key: value
        for key, value in SHIPPING.items()
        if "carrier" not in key and "tracking" not in key
    }
    created = await post(client, merchant, "/v1/customers", name="Asha", **customer_shipping)
    assert created.status_code == 200, created.text
    shipping = created.json()["shipping"]
    assert shipping["name"] == "Asha Rao" and shipping["address"]["city"] == "Bengaluru"
    assert set(shipping) == {"name", "phone", "address"}
    path = f"/v1/customers/{created.json()['id']}"
    moved = await post(
        client, merchant, path, **{"shipping[name]": "Asha", "shipping[address][city]": "Pune"}
    )
    assert moved.json()["shipping"]["address"]["city"] == "Pune"
    assert (await post(client, merchant, path, shipping="")).json()["shipping"] is None
    carrier = {**customer_shipping, "shipping[carrier]": "India Post"}  # not a customer's field
    assert await _refused(client, merchant, "/v1/customers", **carrier) == "shipping[carrier]"


async def test_a_replay_answers_the_new_parameters_unchanged(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    params = {
        "amount": "10000",
        "currency": "inr",
        "confirm": "true",
        "payment_method": "pm_card_visa",
        "automatic_payment_methods[enabled]": "true",
        "payment_method_options[card][request_three_d_secure]": "challenge",
        "statement_descriptor_suffix": "Replay",
        "return_url": "https://shop.example",
        **SHIPPING,
    }
    headers = {**merchant.auth(), "Idempotency-Key": uuid.uuid4().hex}
    first = await client.post(INTENTS, data=params, headers=headers)
    again = await client.post(INTENTS, data=params, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert first.json()["status"] == "requires_action"


async def test_a_charge_starts_with_a_copy_of_its_intents_metadata(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await pay(client, merchant, payment_method="pm_card_visa", **{"metadata[order]": "42"})
    charge_path = f"/v1/charges/{intent['latest_charge']}"
    assert (await get(client, merchant, charge_path))["metadata"] == {"order": "42"}
    await post(client, merchant, charge_path, **{"metadata[packed]": "yes"})
    after = await get(client, merchant, f"{INTENTS}/{intent['id']}")
    assert after["metadata"] == {"order": "42"}  # the intent keeps its own
    assert (await get(client, merchant, charge_path))["metadata"] == {
        "order": "42",
        "packed": "yes",
    }
