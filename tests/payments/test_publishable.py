"""What a publishable key (a browser: the card element) may do, and nothing more: create a
payment method for no customer, confirm and retrieve one PaymentIntent with its client secret.
It reads and lists nothing else, cannot confirm another intent, and cannot choose what is the
merchant's server's to choose."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from beyondpay.db.session import Database
from tests.support import TestMerchant, make_merchant


@pytest.fixture
async def other_merchant(database: Database) -> TestMerchant:
    return await make_merchant(database, name="Other")


def _card(number: str = "4242424242424242") -> dict[str, str]:
    return {
        "type": "card",
        "card[number]": number,
        "card[exp_month]": "12",
        "card[exp_year]": "2034",
        "card[cvc]": "123",
    }


def _guessed(secret: str) -> str:
    return secret[:-1] + ("x" if secret[-1] != "x" else "y")


async def _intent(client: httpx.AsyncClient, merchant: TestMerchant, **params: str) -> Any:
    body = {"amount": "49900", "currency": "inr", "metadata[order]": "A-17", **params}
    created = await client.post("/v1/payment_intents", data=body, headers=merchant.auth())
    assert created.status_code == 200, created.text
    return created.json()


async def test_a_publishable_key_creates_a_payment_method_but_not_for_a_customer(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    browser = merchant.auth("pk_test")
    created = await client.post("/v1/payment_methods", data=_card(), headers=browser)
    assert created.status_code == 200, created.text
    method = created.json()
    assert method["id"].startswith("pm_")
    assert method["card"]["last4"] == "4242"
    assert method["customer"] is None
    assert method["livemode"] is False

    customer = await client.post("/v1/customers", data={"name": "Asha"}, headers=merchant.auth())
    attached = await client.post(
        "/v1/payment_methods",
        data={**_card(), "customer": customer.json()["id"]},
        headers=browser,
    )
    assert attached.status_code == 400, attached.text
    error = attached.json()["error"]
    assert error["code"] == "parameter_not_allowed_with_publishable_key"
    assert error["param"] == "customer"
    assert "4242424242424242" not in attached.text


async def test_a_publishable_key_reads_and_lists_nothing(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    browser = merchant.auth("pk_test")
    intent = await _intent(client, merchant)
    method = (await client.post("/v1/payment_methods", data=_card(), headers=browser)).json()
    customer = await client.post("/v1/customers", data={"name": "Asha"}, headers=merchant.auth())
    refused = [
        ("GET", "/v1/payment_intents"),
        ("GET", "/v1/customers"),
        ("GET", f"/v1/customers/{customer.json()['id']}"),
        ("GET", f"/v1/payment_methods/{method['id']}"),
        ("GET", "/v1/charges"),
        ("GET", "/v1/balance"),
        ("GET", "/v1/events"),
        ("POST", "/v1/payment_intents"),
        ("POST", f"/v1/payment_intents/{intent['id']}"),
        ("POST", f"/v1/payment_intents/{intent['id']}/cancel"),
        ("POST", "/v1/refunds"),
    ]
    for method_name, path in refused:
        answer = await client.request(method_name, path, headers=browser)
        assert answer.status_code == 403, (method_name, path, answer.text)
        assert answer.json()["error"]["type"] == "permission_error"
    # The intent itself needs its client secret.
    for method_name, path in (
        ("GET", f"/v1/payment_intents/{intent['id']}"),
        ("POST", f"/v1/payment_intents/{intent['id']}/confirm"),
    ):
        answer = await client.request(method_name, path, headers=browser)
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "client_secret_required"
        assert answer.json()["error"]["param"] == "client_secret"


async def test_with_its_client_secret_a_browser_sees_only_what_paying_needs(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await _intent(client, merchant, description="Annual plan")
    seen = await client.get(
        f"/v1/payment_intents/{intent['id']}",
        params={"client_secret": intent["client_secret"]},
        headers=merchant.auth("pk_test"),
    )
    assert seen.status_code == 200, seen.text
    shown = seen.json()
    assert shown["id"] == intent["id"]
    assert shown["status"] == "requires_payment_method"
    assert shown["amount"] == 49900
    assert shown["client_secret"] == intent["client_secret"]
    for hidden in ("metadata", "customer", "latest_charge", "statement_descriptor"):
        assert hidden not in shown, hidden
    expanded = await client.get(
        f"/v1/payment_intents/{intent['id']}",
        params={"client_secret": intent["client_secret"], "expand[]": "latest_charge"},
        headers=merchant.auth("pk_test"),
    )
    assert expanded.status_code == 400, expanded.text
    assert expanded.json()["error"]["param"] == "expand"
    # A secret key still sees everything, client secret or not.
    full = await client.get(f"/v1/payment_intents/{intent['id']}", headers=merchant.auth())
    assert full.json()["metadata"] == {"order": "A-17"}


async def test_another_intents_secret_is_an_unknown_id(
    client: httpx.AsyncClient, merchant: TestMerchant, other_merchant: TestMerchant
) -> None:
    browser = merchant.auth("pk_test")
    mine = await _intent(client, merchant)
    another = await _intent(client, merchant)
    theirs = await _intent(client, other_merchant)
    unknown_id = "pi_" + "Z" * (len(another["id"]) - 3)
    attempts = [
        (another["id"], mine["client_secret"]),  # my secret on another intent of the merchant
        (theirs["id"], theirs["client_secret"]),  # another merchant's intent, its own secret
        (another["id"], _guessed(another["client_secret"])),  # one character off
    ]
    for intent_id, secret in attempts:
        for confirm in (False, True):
            if confirm:
                answer = await client.post(
                    f"/v1/payment_intents/{intent_id}/confirm",
                    data={"client_secret": secret, "payment_method": "pm_card_visa"},
                    headers=browser,
                )
            else:
                answer = await client.get(
                    f"/v1/payment_intents/{intent_id}",
                    params={"client_secret": secret},
                    headers=browser,
                )
            assert answer.status_code == 404, answer.text
            assert answer.json()["error"]["code"] == "resource_missing"
            assert answer.json()["error"]["message"] == f"No such payment_intent: '{intent_id}'"
            assert secret not in answer.text
    missing = await client.get(
        f"/v1/payment_intents/{unknown_id}",
        params={"client_secret": mine["client_secret"]},
        headers=browser,
    )
    assert missing.status_code == 404
    for intent in (another, theirs):
        owner = merchant if intent is another else other_merchant
        after = await client.get(f"/v1/payment_intents/{intent['id']}", headers=owner.auth())
        assert after.json()["status"] == "requires_payment_method"
        assert after.json()["latest_charge"] is None


async def test_a_browser_confirms_its_intent_and_cannot_choose_the_servers_parameters(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    browser = merchant.auth("pk_test")
    intent = await _intent(client, merchant)
    path = f"/v1/payment_intents/{intent['id']}/confirm"
    secret = intent["client_secret"]
    for name, value in (
        ("capture_method", "manual"),
        ("off_session", "true"),
        ("expand[]", "latest_charge"),
        ("payment_method_types[0]", "card"),
        ("payment_method_options[card][capture_method]", "manual"),
    ):
        refused = await client.post(
            path,
            data={"client_secret": secret, "payment_method": "pm_card_visa", name: value},
            headers=browser,
        )
        assert refused.status_code == 400, (name, refused.text)
        assert refused.json()["error"]["param"] == name.split("[")[0], refused.text

    method = (await client.post("/v1/payment_methods", data=_card(), headers=browser)).json()
    confirmed = await client.post(
        path,
        data={"client_secret": secret, "payment_method": method["id"]},
        headers={**browser, "Idempotency-Key": "element-confirm-1"},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "succeeded"
    assert "metadata" not in confirmed.json()
    again = await client.post(
        path,
        data={"client_secret": secret, "payment_method": method["id"]},
        headers={**browser, "Idempotency-Key": "element-confirm-1"},
    )
    assert again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true"
    paid = await client.get(f"/v1/payment_intents/{intent['id']}", headers=merchant.auth())
    assert paid.json()["status"] == "succeeded"
    assert paid.json()["amount_received"] == 49900


async def test_a_declined_card_answers_the_browser_without_the_merchants_fields(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await _intent(client, merchant)
    declined = await client.post(
        f"/v1/payment_intents/{intent['id']}/confirm",
        data={
            "client_secret": intent["client_secret"],
            "payment_method_data[type]": "card",
            "payment_method_data[card][number]": "4000000000000002",
            "payment_method_data[card][exp_month]": "12",
            "payment_method_data[card][exp_year]": "2034",
            "payment_method_data[card][cvc]": "123",
        },
        headers=merchant.auth("pk_test"),
    )
    assert declined.status_code == 402, declined.text
    error = declined.json()["error"]
    assert error["type"] == "card_error"
    assert error["decline_code"] == "generic_decline"
    assert error["payment_intent"]["status"] == "requires_payment_method"
    assert "metadata" not in error["payment_intent"]
    assert "4000000000000002" not in declined.text
