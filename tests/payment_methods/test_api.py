"""Payment methods over HTTP: create, retrieve, update, list, attach, detach, test tokens,
validation errors naming their parameter, scoping and scopes, events."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from beyondpay.db.session import Database
from tests.support import TestMerchant, make_merchant

VISA = "4242424242424242"
FUTURE_YEAR = 2040


def _card(number: str = VISA, **extra: Any) -> dict[str, Any]:
    return {
        "type": "card",
        "card": {"number": number, "exp_month": 12, "exp_year": FUTURE_YEAR, **extra},
    }


async def _post(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    path: str,
    body: dict[str, Any],
    key: str = "sk_test",
) -> httpx.Response:
    return await client.post(path, json=body, headers=merchant.auth(key))


async def _customer(client: httpx.AsyncClient, merchant: TestMerchant, key: str = "sk_test") -> str:
    response = await _post(client, merchant, "/v1/customers", {"name": "Asha"}, key)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


async def _events(
    client: httpx.AsyncClient, merchant: TestMerchant, type: str
) -> list[dict[str, Any]]:
    response = await client.get("/v1/events", params={"type": type}, headers=merchant.auth())
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def test_card_created_form_encoded_shows_only_what_stripe_shows(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    response = await client.post(
        "/v1/payment_methods",
        content=(
            f"type=card&card[number]={VISA}&card[exp_month]=8&card[exp_year]={FUTURE_YEAR}"
            "&card[cvc]=123&billing_details[name]=Asha&billing_details[address][city]=Pune"
            "&metadata[order]=42"
        ),
        headers={**merchant.auth(), "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    method = response.json()
    assert method["id"].startswith("pm_")
    assert method["object"] == "payment_method"
    assert method["type"] == "card"
    assert method["livemode"] is False
    assert method["customer"] is None
    assert method["metadata"] == {"order": "42"}
    assert method["billing_details"]["name"] == "Asha"
    assert method["billing_details"]["address"]["city"] == "Pune"
    card = method["card"]
    assert set(card) == {
        "brand",
        "last4",
        "exp_month",
        "exp_year",
        "fingerprint",
        "funding",
        "country",
        "checks",
        "networks",
        "three_d_secure_usage",
    }
    assert (card["brand"], card["last4"], card["exp_month"], card["exp_year"]) == (
        "visa",
        "4242",
        8,
        FUTURE_YEAR,
    )
    assert card["checks"]["cvc_check"] == "pass"
    assert len(card["fingerprint"]) == 16
    assert "upi" not in method and "netbanking" not in method
    assert VISA not in response.text

    fetched = await client.get(f"/v1/payment_methods/{method['id']}", headers=merchant.auth())
    assert fetched.json() == method


async def test_fingerprint_is_per_card_number(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    first = (await _post(client, merchant, "/v1/payment_methods", _card())).json()
    again = (await _post(client, merchant, "/v1/payment_methods", _card(cvc="999"))).json()
    other = (await _post(client, merchant, "/v1/payment_methods", _card("5555555555554444"))).json()
    assert first["id"] != again["id"]
    assert first["card"]["fingerprint"] == again["card"]["fingerprint"]
    assert first["card"]["fingerprint"] != other["card"]["fingerprint"]
    assert first["card"]["checks"]["cvc_check"] is None


@pytest.mark.parametrize(
    ("body", "status", "code", "param"),
    [
        (_card("4242424242424241"), 402, "incorrect_number", "card[number]"),
        (_card("4242"), 402, "invalid_number", "card[number]"),
        (_card(cvc="12"), 402, "invalid_cvc", "card[cvc]"),
        (
            {"type": "card", "card": {"number": VISA, "exp_month": 13, "exp_year": FUTURE_YEAR}},
            402,
            "invalid_expiry_month",
            "card[exp_month]",
        ),
        (
            {"type": "card", "card": {"number": VISA, "exp_month": 1, "exp_year": 2001}},
            402,
            "invalid_expiry_year",
            "card[exp_year]",
        ),
        (
            {"type": "card", "card": {"number": VISA, "exp_month": "x", "exp_year": FUTURE_YEAR}},
            400,
            "parameter_invalid_integer",
            "card[exp_month]",
        ),
        (
            {"type": "card", "card": {"exp_month": 1, "exp_year": FUTURE_YEAR}},
            400,
            "parameter_missing",
            "card[number]",
        ),
        ({"type": "card"}, 400, "parameter_missing", "card"),
        (
            {
                "type": "card",
                "card": {"number": VISA, "exp_month": 1, "exp_year": FUTURE_YEAR},
                "upi": {},
            },
            400,
            "parameter_invalid",
            "upi",
        ),
        ({"type": "cheque"}, 400, "parameter_invalid", "type"),
        ({"type": "upi", "upi": {"vpa": "Asha@okhdfc"}}, 400, "invalid_vpa", "upi[vpa]"),
        (
            {"type": "netbanking", "netbanking": {"bank": "HD"}},
            400,
            "invalid_bank",
            "netbanking[bank]",
        ),
        ({"type": "netbanking"}, 400, "parameter_missing", "netbanking"),
        ({**_card(), "customer": "cus_nope"}, 404, "resource_missing", "customer"),
        ({**_card(), "colour": "red"}, 400, "parameter_unknown", "colour"),
    ],
)
async def test_validation_errors_name_the_parameter(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    body: dict[str, Any],
    status: int,
    code: str,
    param: str,
) -> None:
    response = await _post(client, merchant, "/v1/payment_methods", body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert (error["code"], error["param"]) == (code, param)
    if status == 402:
        assert error["type"] == "card_error"
    assert VISA not in response.text and "Asha@okhdfc" not in response.text


async def test_upi_vpa_is_masked_and_intent_flow_has_none(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    collect = await _post(
        client, merchant, "/v1/payment_methods", {"type": "upi", "upi": {"vpa": "success@sandbox"}}
    )
    assert collect.status_code == 200, collect.text
    assert collect.json()["upi"]["vpa"] == "su*****@sandbox"
    assert "success@sandbox" not in collect.text
    intent = await _post(client, merchant, "/v1/payment_methods", {"type": "upi"})
    assert intent.status_code == 200, intent.text
    assert intent.json()["upi"] == {"vpa": None, "fingerprint": None}
    bank = await _post(
        client,
        merchant,
        "/v1/payment_methods",
        {"type": "netbanking", "netbanking": {"bank": "hdfc"}},
    )
    assert bank.json()["netbanking"] == {"bank": "HDFC", "bank_name": "HDFC Bank"}


async def test_attach_list_detach_with_events(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    customer = await _customer(client, merchant)
    method = (await _post(client, merchant, "/v1/payment_methods", _card())).json()
    upi = (
        await _post(
            client,
            merchant,
            "/v1/payment_methods",
            {"type": "upi", "upi": {"vpa": "success@sandbox"}},
        )
    ).json()

    attached = await _post(
        client, merchant, f"/v1/payment_methods/{method['id']}/attach", {"customer": customer}
    )
    assert attached.status_code == 200, attached.text
    assert attached.json()["customer"] == customer
    await _post(client, merchant, f"/v1/payment_methods/{upi['id']}/attach", {"customer": customer})
    again = await _post(
        client, merchant, f"/v1/payment_methods/{method['id']}/attach", {"customer": customer}
    )
    assert again.status_code == 200  # the same customer: nothing changes

    listed = await client.get(
        "/v1/payment_methods",
        params={"customer": customer, "type": "card"},
        headers=merchant.auth(),
    )
    assert listed.status_code == 200, listed.text
    assert [item["id"] for item in listed.json()["data"]] == [method["id"]]
    assert listed.json()["url"] == "/v1/payment_methods"
    everything = await client.get(
        f"/v1/customers/{customer}/payment_methods", headers=merchant.auth()
    )
    assert [item["id"] for item in everything.json()["data"]] == [upi["id"], method["id"]]
    missing = await client.get("/v1/payment_methods", headers=merchant.auth())
    assert (missing.status_code, missing.json()["error"]["param"]) == (400, "customer")

    attach_events = await _events(client, merchant, "payment_method.attached")
    assert sorted(event["data"]["object"]["id"] for event in attach_events) == sorted(
        [method["id"], upi["id"]]
    )
    assert "success@sandbox" not in str(attach_events)

    other = await _customer(client, merchant)
    taken = await _post(
        client, merchant, f"/v1/payment_methods/{method['id']}/attach", {"customer": other}
    )
    assert (taken.status_code, taken.json()["error"]["code"]) == (
        400,
        "payment_method_unexpected_state",
    )

    detached = await _post(client, merchant, f"/v1/payment_methods/{method['id']}/detach", {})
    assert detached.status_code == 200, detached.text
    assert detached.json()["customer"] is None
    (event,) = await _events(client, merchant, "payment_method.detached")
    assert event["data"]["object"]["id"] == method["id"]
    assert event["data"]["previous_attributes"] == {"customer": customer}
    twice = await _post(client, merchant, f"/v1/payment_methods/{method['id']}/detach", {})
    assert (twice.status_code, twice.json()["error"]["code"]) == (
        400,
        "payment_method_unexpected_state",
    )
    reattach = await _post(
        client, merchant, f"/v1/payment_methods/{method['id']}/attach", {"customer": customer}
    )
    assert reattach.status_code == 400
    listed = await client.get(f"/v1/customers/{customer}/payment_methods", headers=merchant.auth())
    assert [item["id"] for item in listed.json()["data"]] == [upi["id"]]


async def test_update_billing_details_metadata_and_expiry(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    method = (
        await _post(
            client,
            merchant,
            "/v1/payment_methods",
            {**_card(), "billing_details": {"name": "Asha", "email": "a@example.com"}},
        )
    ).json()
    updated = await _post(
        client,
        merchant,
        f"/v1/payment_methods/{method['id']}",
        {
            "billing_details": {"name": "Asha Rao"},
            "metadata": {"tier": "gold"},
            "card": {"exp_month": 3, "exp_year": FUTURE_YEAR + 1},
        },
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["billing_details"]["name"] == "Asha Rao"
    assert body["billing_details"]["email"] == "a@example.com"
    assert body["metadata"] == {"tier": "gold"}
    assert (body["card"]["exp_month"], body["card"]["exp_year"]) == (3, FUTURE_YEAR + 1)
    (event,) = await _events(client, merchant, "payment_method.updated")
    assert event["data"]["previous_attributes"]["card"]["exp_month"] == 12
    past = await _post(
        client, merchant, f"/v1/payment_methods/{method['id']}", {"card": {"exp_year": 2001}}
    )
    assert (past.status_code, past.json()["error"]["param"]) == (402, "card[exp_year]")
    upi = (await _post(client, merchant, "/v1/payment_methods", {"type": "upi"})).json()
    wrong = await _post(
        client, merchant, f"/v1/payment_methods/{upi['id']}", {"card": {"exp_month": 1}}
    )
    assert (wrong.status_code, wrong.json()["error"]["param"]) == (400, "card")


async def test_test_tokens_make_fresh_payment_methods(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    customer = await _customer(client, merchant)
    first = await _post(
        client, merchant, "/v1/payment_methods/pm_card_visa/attach", {"customer": customer}
    )
    second = await _post(
        client,
        merchant,
        "/v1/payment_methods/pm_card_chargeDeclined/attach",
        {"customer": customer},
    )
    assert first.status_code == 200, first.text
    assert first.json()["id"].startswith("pm_") and first.json()["id"] != "pm_card_visa"
    assert (first.json()["card"]["last4"], first.json()["card"]["country"]) == ("4242", "US")
    assert second.json()["card"]["last4"] == "0002"
    upi = await _post(
        client, merchant, "/v1/payment_methods/pm_upi_success/attach", {"customer": customer}
    )
    assert upi.json()["upi"]["vpa"] == "su*****@sandbox"
    amex = await _post(
        client, merchant, "/v1/payment_methods/pm_card_amex/attach", {"customer": customer}
    )
    assert amex.json()["card"]["brand"] == "amex"


async def test_live_mode_refuses_test_cards_and_tokens(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    card = await _post(client, merchant, "/v1/payment_methods", _card(), key="sk_live")
    assert card.status_code == 402, card.text
    error = card.json()["error"]
    assert (error["code"], error["decline_code"], error["param"]) == (
        "card_declined",
        "test_mode_live_card",
        "card[number]",
    )
    customer = await _customer(client, merchant, key="sk_live")
    token = await _post(
        client,
        merchant,
        "/v1/payment_methods/pm_card_visa/attach",
        {"customer": customer},
        key="sk_live",
    )
    assert (token.status_code, token.json()["error"]["code"]) == (404, "resource_missing")
    real = await _post(
        client, merchant, "/v1/payment_methods", _card("4111111111111111"), key="sk_live"
    )
    assert real.status_code == 200, real.text
    assert (real.json()["livemode"], real.json()["card"]["funding"]) == (True, "unknown")


async def test_other_merchants_and_modes_see_nothing(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    other = await make_merchant(database, name="Other")
    method = (await _post(client, merchant, "/v1/payment_methods", _card())).json()
    customer = await _customer(client, merchant)
    for who, key in ((other, "sk_test"), (merchant, "sk_live")):
        fetched = await client.get(f"/v1/payment_methods/{method['id']}", headers=who.auth(key))
        assert fetched.status_code == 404
        assert fetched.json()["error"]["code"] == "resource_missing"
        listed = await client.get(
            f"/v1/customers/{customer}/payment_methods", headers=who.auth(key)
        )
        assert listed.status_code == 404
    their_customer = await _customer(client, other)
    cross = await _post(
        client, merchant, f"/v1/payment_methods/{method['id']}/attach", {"customer": their_customer}
    )
    assert (cross.status_code, cross.json()["error"]["param"]) == (404, "customer")


async def test_restricted_keys_need_the_payment_methods_scopes(
    client: httpx.AsyncClient, database: Database
) -> None:
    reader = await make_merchant(
        database, restricted_scopes=("payment_methods:read", "customers:write")
    )
    created = await _post(client, reader, "/v1/payment_methods", _card(), key="rk_test")
    assert created.status_code == 403
    assert created.json()["error"]["type"] == "permission_error"
    method = (await _post(client, reader, "/v1/payment_methods", _card())).json()
    fetched = await client.get(
        f"/v1/payment_methods/{method['id']}", headers=reader.auth("rk_test")
    )
    assert fetched.status_code == 200
    customer = await _customer(client, reader, key="rk_test")
    attach = await _post(
        client,
        reader,
        f"/v1/payment_methods/{method['id']}/attach",
        {"customer": customer},
        key="rk_test",
    )
    assert attach.status_code == 403
    listed = await client.get(
        f"/v1/customers/{customer}/payment_methods", headers=reader.auth("rk_test")
    )
    assert listed.status_code == 200
    # A browser's publishable key makes payment methods (the card element does), for no one:
    # tests/payments/test_publishable.py shows what else it may and may not do.
    publishable = await _post(client, reader, "/v1/payment_methods", _card(), key="pk_test")
    assert publishable.status_code == 200, publishable.text
    assert publishable.json()["customer"] is None


async def test_no_card_number_cvc_or_vpa_in_logs(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    pan, cvc, vpa = "6011111111111117", "8642", "meena.iyer42@oksbi"
    requests = [
        _card(pan, cvc="864"),
        _card(pan, cvc=cvc),  # invalid: a 4-digit CVC on discover
        _card(pan[:-1] + "8"),  # invalid: Luhn
        {"type": "upi", "upi": {"vpa": vpa}},
        {"type": "upi", "upi": {"vpa": vpa.upper()}},  # invalid
    ]
    statuses = [
        (await _post(client, merchant, "/v1/payment_methods", body)).status_code
        for body in requests
    ]
    assert statuses == [200, 402, 402, 200, 400]
    captured = capfd.readouterr()
    text = captured.out + captured.err + caplog.text
    for secret in (pan, pan[:-1] + "8", cvc, vpa, vpa.upper(), "meena.iyer42"):
        assert secret not in text
