"""SetupIntents over HTTP on the sandbox card network: saving a card (with and without 3-D
Secure), charging it off-session after, the failures and refusals, events, and the saving
parameters of payment intents and customers (setup_future_usage, off_session,
customers.create(payment_method=…), invoice_settings.default_payment_method)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.payments.support import balance_and_transactions, get, post
from tests.support import TestMerchant

ALWAYS_AUTHENTICATE = "pm_card_authenticationRequired"  # 4000 0027 6000 3184
AUTHENTICATE_UNLESS_SET_UP = "pm_card_authenticationRequiredOnSetup"  # 4000 0025 0000 3155


async def _events(database: Database, object_id: str) -> list[str]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text("SELECT type FROM events WHERE object_id = :id ORDER BY inserted"),
            {"id": object_id},
        )
        return [str(row) for row in rows.scalars()]


async def _customer(client: httpx.AsyncClient, merchant: TestMerchant, **params: Any) -> str:
    response = await post(client, merchant, "/v1/customers", **params)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def _setup(
    client: httpx.AsyncClient, merchant: TestMerchant, status: int = 200, **params: Any
) -> dict[str, Any]:
    response = await post(client, merchant, "/v1/setup_intents", **params)
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def _complete_challenge(
    client: httpx.AsyncClient, intent: dict[str, Any], outcome: str = "complete"
) -> None:
    page_path = httpx.URL(intent["next_action"]["redirect_to_url"]["url"]).path
    page = await client.get(page_path)
    assert page.status_code == 200 and "INR 0.00" in page.text
    answered = await client.post(page_path, data={"outcome": outcome})
    assert answered.status_code in (200, 303), answered.text


async def _charge_off_session(
    client: httpx.AsyncClient, merchant: TestMerchant, customer: str, method: str
) -> httpx.Response:
    return await post(
        client,
        merchant,
        "/v1/payment_intents",
        amount=5_000,
        currency="inr",
        customer=customer,
        payment_method=method,
        off_session="true",
        confirm="true",
    )


async def test_a_card_saved_with_a_setup_intent_is_charged_off_session(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    customer = await _customer(client, merchant)
    created = await _setup(client, merchant, customer=customer)
    assert created["status"] == "requires_payment_method"
    assert created["usage"] == "off_session" and created["payment_method_types"] == ["card"]
    assert created["id"].startswith("seti_") and created["client_secret"].startswith(created["id"])
    updated = await post(
        client, merchant, f"/v1/setup_intents/{created['id']}", payment_method="pm_card_visa"
    )
    assert updated.json()["status"] == "requires_confirmation"
    confirmed = await post(client, merchant, f"/v1/setup_intents/{created['id']}/confirm")
    assert confirmed.status_code == 200, confirmed.text
    intent = confirmed.json()
    assert intent["status"] == "succeeded" and intent["latest_attempt"].startswith("setatt_")
    method = await get(client, merchant, f"/v1/payment_methods/{intent['payment_method']}")
    assert method["customer"] == customer
    paid = await _charge_off_session(client, merchant, customer, intent["payment_method"])
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "succeeded"
    assert await _events(database, intent["id"]) == [
        "setup_intent.created",
        "setup_intent.succeeded",
    ]
    assert "payment_method.attached" in await _events(database, intent["payment_method"])
    # No money moved for the setup: only the payment's charge is in the balance.
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": 0, "pending": 5_000 - 100}


async def test_three_d_secure_on_setup_then_the_card_is_charged_off_session(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    customer = await _customer(client, merchant)
    intent = await _setup(
        client,
        merchant,
        customer=customer,
        payment_method=AUTHENTICATE_UNLESS_SET_UP,
        confirm="true",
        return_url="https://shop.example/saved",
    )
    assert intent["status"] == "requires_action"
    assert intent["next_action"]["type"] == "redirect_to_url"
    assert intent["next_action"]["redirect_to_url"]["return_url"] == "https://shop.example/saved"
    # Before the challenge is completed the card is not set up: off-session it fails.
    early = await _charge_off_session(client, merchant, customer, intent["payment_method"])
    assert early.status_code == 402
    await _complete_challenge(client, intent)
    after = await get(client, merchant, f"/v1/setup_intents/{intent['id']}")
    assert after["status"] == "succeeded" and after["next_action"] is None
    paid = await _charge_off_session(client, merchant, customer, intent["payment_method"])
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "succeeded"
    # On-session the same card still asks for authentication (Stripe's testing docs).
    on_session = await post(
        client,
        merchant,
        "/v1/payment_intents",
        amount=5_000,
        currency="inr",
        customer=customer,
        payment_method=intent["payment_method"],
        confirm="true",
    )
    assert on_session.json()["status"] == "requires_action"
    assert await _events(database, intent["id"]) == [
        "setup_intent.created",
        "setup_intent.requires_action",
        "setup_intent.succeeded",
    ]


async def test_an_off_session_charge_that_needs_authentication_fails(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    customer = await _customer(client, merchant)
    intent = await _setup(
        client, merchant, customer=customer, payment_method=ALWAYS_AUTHENTICATE, confirm="true"
    )
    await _complete_challenge(client, intent)
    saved = await get(client, merchant, f"/v1/setup_intents/{intent['id']}")
    assert saved["status"] == "succeeded"
    declined = await _charge_off_session(client, merchant, customer, intent["payment_method"])
    assert declined.status_code == 402, declined.text
    error = declined.json()["error"]
    assert error["type"] == "card_error"
    assert error["code"] == error["decline_code"] == "authentication_required"
    payment = error["payment_intent"]
    assert payment["status"] == "requires_payment_method"
    assert payment["last_payment_error"]["code"] == "authentication_required"
    assert "payment_intent.payment_failed" in await _events(database, payment["id"])


async def test_pm_card_authentication_required_asks_for_3ds_on_every_payment(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    """Stripe's 4000 0027 6000 3184 "requires authentication on all transactions, regardless
    of how the card is set up" (docs/testing.md): each on-session payment asks again, even once
    the card was authenticated and saved by a payment, and off-session it is always declined."""
    customer = await _customer(client, merchant)

    async def pay(method: str, **params: str) -> dict[str, Any]:
        response = await post(
            client,
            merchant,
            "/v1/payment_intents",
            amount=5_000,
            currency="inr",
            customer=customer,
            payment_method=method,
            confirm="true",
            **params,
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        assert answer["status"] == "requires_action"
        assert answer["next_action"]["type"] == "redirect_to_url"
        return answer

    first = await pay(ALWAYS_AUTHENTICATE, setup_future_usage="off_session")
    page_path = httpx.URL(first["next_action"]["redirect_to_url"]["url"]).path
    answered = await client.post(page_path, data={"outcome": "complete"})
    assert answered.status_code in (200, 303), answered.text
    paid = await get(client, merchant, f"/v1/payment_intents/{first['id']}")
    assert paid["status"] == "succeeded"
    saved = paid["payment_method"]
    assert (await get(client, merchant, f"/v1/payment_methods/{saved}"))["customer"] == customer

    for _ in range(2):
        await pay(saved)  # on-session: 3-D Secure again, every time
    declined = await _charge_off_session(client, merchant, customer, saved)
    assert declined.status_code == 402, declined.text
    assert declined.json()["error"]["decline_code"] == "authentication_required"


async def test_a_declined_card_fails_the_setup_with_402_and_an_event(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    response = await post(
        client,
        merchant,
        "/v1/setup_intents",
        payment_method="pm_card_chargeDeclined",
        confirm="true",
    )
    assert response.status_code == 402, response.text
    error = response.json()["error"]
    assert (error["type"], error["code"], error["decline_code"]) == (
        "card_error",
        "card_declined",
        "generic_decline",
    )
    intent = error["setup_intent"]
    assert intent["status"] == "requires_payment_method"
    assert intent["last_setup_error"]["code"] == "card_declined"
    assert await _events(database, intent["id"]) == [
        "setup_intent.created",
        "setup_intent.setup_failed",
    ]
    # Another card on the same intent succeeds.
    again = await post(
        client,
        merchant,
        f"/v1/setup_intents/{intent['id']}/confirm",
        payment_method="pm_card_mastercard",
    )
    assert again.status_code == 200 and again.json()["status"] == "succeeded"
    assert again.json()["last_setup_error"] is None


async def test_a_failed_challenge_fails_the_setup(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    intent = await _setup(
        client, merchant, payment_method=AUTHENTICATE_UNLESS_SET_UP, confirm="true"
    )
    await _complete_challenge(client, intent, "fail")
    after = await get(client, merchant, f"/v1/setup_intents/{intent['id']}")
    assert after["status"] == "requires_payment_method"
    assert after["last_setup_error"]["code"] == "setup_intent_authentication_failure"
    assert "setup_intent.setup_failed" in await _events(database, intent["id"])


async def test_cancel_a_setup_waiting_for_its_challenge(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    intent = await _setup(
        client, merchant, payment_method=AUTHENTICATE_UNLESS_SET_UP, confirm="true"
    )
    canceled = await post(
        client,
        merchant,
        f"/v1/setup_intents/{intent['id']}/cancel",
        cancellation_reason="abandoned",
    )
    assert canceled.status_code == 200, canceled.text
    body = canceled.json()
    assert (body["status"], body["cancellation_reason"]) == ("canceled", "abandoned")
    assert body["next_action"] is None
    # The challenge answered late changes nothing.
    await _complete_challenge(client, intent)
    after = await get(client, merchant, f"/v1/setup_intents/{intent['id']}")
    assert after["status"] == "canceled"
    for path in ("confirm", "cancel"):
        refused = await post(client, merchant, f"/v1/setup_intents/{intent['id']}/{path}")
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == "setup_intent_unexpected_state"
    assert await _events(database, intent["id"]) == [
        "setup_intent.created",
        "setup_intent.requires_action",
        "setup_intent.canceled",
    ]


async def test_state_transitions_and_what_each_state_refuses(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await _setup(client, merchant, **{"metadata[order]": "42", "usage": "on_session"})
    assert intent["status"] == "requires_payment_method" and intent["usage"] == "on_session"
    assert intent["metadata"] == {"order": "42"}
    missing = await post(client, merchant, f"/v1/setup_intents/{intent['id']}/confirm")
    assert missing.status_code == 400 and missing.json()["error"]["param"] == "payment_method"
    confirmed = await post(
        client,
        merchant,
        f"/v1/setup_intents/{intent['id']}/confirm",
        payment_method="pm_card_visa",
    )
    assert confirmed.json()["status"] == "succeeded"
    for path, params in (("", {"description": "x"}), ("/confirm", {}), ("/cancel", {})):
        refused = await post(client, merchant, f"/v1/setup_intents/{intent['id']}{path}", **params)
        assert refused.status_code == 400, path
        assert refused.json()["error"]["code"] == "setup_intent_unexpected_state"
    listed = await get(client, merchant, "/v1/setup_intents", limit=10)
    assert [item["id"] for item in listed["data"]] == [intent["id"]]
    by_method = await get(
        client, merchant, "/v1/setup_intents", payment_method=confirmed.json()["payment_method"]
    )
    assert len(by_method["data"]) == 1
    expanded = await get(
        client, merchant, f"/v1/setup_intents/{intent['id']}", **{"expand[]": "payment_method"}
    )
    assert expanded["payment_method"]["object"] == "payment_method"


async def test_errors_name_their_parameter(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"customer": "cus_missing"}, "customer"),
        ({"usage": "sometimes"}, "usage"),
        ({"payment_method_types[0]": "upi"}, "payment_method_types"),
        ({"payment_method_types[0]": "netbanking"}, "payment_method_types"),
        ({"payment_method": "pm_upi_success"}, "payment_method"),
        (
            {
                "payment_method_data[type]": "upi",
                "payment_method_data[upi][vpa]": "success@sandbox",
            },
            "payment_method_data[type]",
        ),
        ({"payment_method": "pm_missing"}, "payment_method"),
        ({"confirm": "true"}, "payment_method"),
        ({"surprise": "1"}, "surprise"),
    ]
    for params, param in cases:
        response = await post(client, merchant, "/v1/setup_intents", **params)
        assert response.status_code in (400, 404), (params, response.text)
        assert response.json()["error"]["param"] == param, (params, response.text)
    upi = await post(client, merchant, "/v1/setup_intents", **{"payment_method_types[0]": "upi"})
    assert "mandate" in upi.json()["error"]["message"]
    missing = await client.get("/v1/setup_intents/seti_missing", headers=merchant.auth())
    assert missing.status_code == 404


async def test_a_payment_with_setup_future_usage_saves_the_card_for_off_session(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    customer = await _customer(client, merchant)
    paid = await post(
        client,
        merchant,
        "/v1/payment_intents",
        amount=10_000,
        currency="inr",
        customer=customer,
        payment_method=AUTHENTICATE_UNLESS_SET_UP,
        setup_future_usage="off_session",
        confirm="true",
    )
    intent = paid.json()
    assert intent["status"] == "requires_action" and intent["setup_future_usage"] == "off_session"
    await _complete_challenge_of_payment(client, intent)
    after = await get(client, merchant, f"/v1/payment_intents/{intent['id']}")
    assert after["status"] == "succeeded"
    method = await get(
        client, merchant, f"/v1/customers/{customer}/payment_methods/{intent['payment_method']}"
    )
    assert method["customer"] == customer
    again = await _charge_off_session(client, merchant, customer, intent["payment_method"])
    assert again.status_code == 200 and again.json()["status"] == "succeeded", again.text


async def _complete_challenge_of_payment(client: httpx.AsyncClient, intent: dict[str, Any]) -> None:
    page_path = httpx.URL(intent["next_action"]["redirect_to_url"]["url"]).path
    answered = await client.post(page_path, data={"outcome": "complete"})
    assert answered.status_code == 200, answered.text


async def test_on_session_saving_attaches_but_sets_up_nothing_off_session(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    customer = await _customer(client, merchant)
    paid = await post(
        client,
        merchant,
        "/v1/payment_intents",
        amount=10_000,
        currency="inr",
        customer=customer,
        payment_method=AUTHENTICATE_UNLESS_SET_UP,
        setup_future_usage="on_session",
        confirm="true",
    )
    await _complete_challenge_of_payment(client, paid.json())
    method_id = paid.json()["payment_method"]
    saved = await get(client, merchant, f"/v1/customers/{customer}/payment_methods")
    assert [item["id"] for item in saved["data"]] == [method_id]
    declined = await _charge_off_session(client, merchant, customer, method_id)
    assert declined.status_code == 402
    assert declined.json()["error"]["code"] == "authentication_required"


async def test_saving_from_a_payment_is_refused_naming_the_parameter(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    customer = await _customer(client, merchant)
    base = {"amount": "10000", "currency": "inr"}
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"setup_future_usage": "off_session", "payment_method": "pm_card_visa"}, "customer", ""),
        (
            {
                "customer": customer,
                "setup_future_usage": "off_session",
                "payment_method_types[0]": "upi",
                "payment_method": "pm_upi_success",
            },
            "setup_future_usage",
            "mandate",
        ),
        ({"setup_future_usage": "sometimes"}, "setup_future_usage", ""),
        ({"off_session": "true", "payment_method": "pm_card_visa"}, "off_session", ""),
    ]
    for params, param, words in cases:
        response = await post(client, merchant, "/v1/payment_intents", **base, **params)
        assert response.status_code == 400, (params, response.text)
        error = response.json()["error"]
        assert error["param"] == param, (params, response.text)
        assert words in error["message"]
    intent = await post(
        client, merchant, "/v1/payment_intents", **base, payment_method="pm_card_visa"
    )
    confirm = await post(
        client,
        merchant,
        f"/v1/payment_intents/{intent.json()['id']}/confirm",
        setup_future_usage="on_session",
    )
    assert confirm.status_code == 400 and confirm.json()["error"]["param"] == "customer"


async def test_customers_create_with_a_payment_method_and_its_default(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    created = await post(
        client,
        merchant,
        "/v1/customers",
        payment_method="pm_card_visa",
        **{"invoice_settings[default_payment_method]": "pm_card_visa"},
    )
    assert created.status_code == 200, created.text
    customer = created.json()
    default = customer["invoice_settings"]["default_payment_method"]
    assert default.startswith("pm_") and default != "pm_card_visa"
    method = await get(
        client, merchant, f"/v1/customers/{customer['id']}/payment_methods/{default}"
    )
    assert method["customer"] == customer["id"]
    # A default must be attached to that customer.
    other = await post(
        client,
        merchant,
        "/v1/payment_methods",
        type="card",
        **{"card[number]": "4242424242424242", "card[exp_month]": "12", "card[exp_year]": "2040"},
    )
    refused = await post(
        client,
        merchant,
        f"/v1/customers/{customer['id']}",
        **{"invoice_settings[default_payment_method]": other.json()["id"]},
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "invoice_settings[default_payment_method]"
    unknown = await post(
        client,
        merchant,
        "/v1/customers",
        **{"invoice_settings[default_payment_method]": "pm_missing"},
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["param"] == "invoice_settings[default_payment_method]"
    bad_method = await post(client, merchant, "/v1/customers", payment_method="pm_missing")
    assert bad_method.status_code == 404 and bad_method.json()["error"]["param"] == "payment_method"
    async with database.unit_of_work() as session:
        customers = (
            await session.execute(
                text("SELECT count(*) FROM customers WHERE merchant_id = :m"), {"m": merchant.id}
            )
        ).scalar_one()
    assert customers == 1, "a refused creation writes nothing"
    # Detaching the default clears it.
    detached = await post(client, merchant, f"/v1/payment_methods/{default}/detach")
    assert detached.status_code == 200
    after = await get(client, merchant, f"/v1/customers/{customer['id']}")
    assert after["invoice_settings"]["default_payment_method"] is None
    # Set and unset on update.
    attached = await post(
        client, merchant, "/v1/payment_methods/pm_card_mastercard/attach", customer=customer["id"]
    )
    set_default = await post(
        client,
        merchant,
        f"/v1/customers/{customer['id']}",
        **{"invoice_settings[default_payment_method]": attached.json()["id"]},
    )
    assert set_default.json()["invoice_settings"]["default_payment_method"] == attached.json()["id"]
    unset = await post(
        client,
        merchant,
        f"/v1/customers/{customer['id']}",
        **{"invoice_settings[default_payment_method]": ""},
    )
    assert unset.json()["invoice_settings"]["default_payment_method"] is None
    # A payment method of another customer is not found under this one.
    stranger = await _customer(client, merchant)
    missing = await client.get(
        f"/v1/customers/{stranger}/payment_methods/{attached.json()['id']}",
        headers=merchant.auth(),
    )
    assert missing.status_code == 404


async def test_allow_redisplay_is_set_updated_and_filtered(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    customer = await _customer(client, merchant)
    intent = await _setup(
        client,
        merchant,
        customer=customer,
        confirm="true",
        **{
            "payment_method_data[type]": "card",
            "payment_method_data[card][number]": "4242424242424242",
            "payment_method_data[card][exp_month]": "12",
            "payment_method_data[card][exp_year]": "2040",
            "payment_method_data[allow_redisplay]": "always",
        },
    )
    method = await get(client, merchant, f"/v1/payment_methods/{intent['payment_method']}")
    assert method["allow_redisplay"] == "always" and method["customer"] == customer
    plain = await post(
        client, merchant, "/v1/payment_methods/pm_card_visa/attach", customer=customer
    )
    assert plain.json()["allow_redisplay"] == "unspecified"
    limited = await post(
        client, merchant, f"/v1/payment_methods/{plain.json()['id']}", allow_redisplay="limited"
    )
    assert limited.json()["allow_redisplay"] == "limited"
    shown = await get(
        client, merchant, f"/v1/customers/{customer}/payment_methods", allow_redisplay="always"
    )
    assert [item["id"] for item in shown["data"]] == [method["id"]]
    bad = await post(
        client, merchant, f"/v1/payment_methods/{method['id']}", allow_redisplay="sometimes"
    )
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "allow_redisplay"
