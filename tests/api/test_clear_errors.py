"""Issue 27, item 6: error messages a newcomer can act on. No pydantic prefix ("Value error, "),
an amount that is not an integer says what an amount is, a currency that is not one says which
are, and a JSON boolean is never read as an integer (``"amount": true`` is not ₹0.01)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.payments.support import pay
from tests.support import TestMerchant

INTENTS = "/v1/payment_intents"


async def _json(
    client: httpx.AsyncClient, merchant: TestMerchant, path: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(path, json=body, headers=merchant.auth())


async def _form(
    client: httpx.AsyncClient, merchant: TestMerchant, path: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.post(path, data=body, headers=merchant.auth())


def _error(response: httpx.Response, param: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["param"] == param
    assert "Value error" not in error["message"], error["message"]
    return error


@pytest.mark.parametrize("amount", [49.9, "49.90", "₹49.90"])
async def test_a_non_integer_amount_says_what_an_amount_is(
    client: httpx.AsyncClient, merchant: TestMerchant, amount: Any
) -> None:
    for send in (_json, _form):
        response = await send(client, merchant, INTENTS, {"amount": amount, "currency": "inr"})
        message = _error(response, "amount")["message"]
        assert "smallest unit" in message and "4990" in message, message


@pytest.mark.parametrize("currency", [" inr", "inr ", "rupees", "xyz"])
async def test_a_currency_that_is_not_one_lists_the_accepted_codes(
    client: httpx.AsyncClient, merchant: TestMerchant, currency: str
) -> None:
    for send in (_json, _form):
        response = await send(client, merchant, INTENTS, {"amount": 100, "currency": currency})
        message = _error(response, "currency")["message"]
        assert "inr" in message and "usd" in message and "no spaces" in message, message
        assert not message.startswith("Invalid currency: Value error"), message


async def test_a_json_boolean_is_not_an_integer(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    for value in (True, False):
        response = await _json(client, merchant, INTENTS, {"amount": value, "currency": "inr"})
        assert _error(response, "amount")["code"] == "parameter_invalid_integer"
    held = await pay(client, merchant, payment_method="pm_card_visa", capture_method="manual")
    capture = f"{INTENTS}/{held['id']}/capture"
    response = await _json(client, merchant, capture, {"amount_to_capture": True})
    _error(response, "amount_to_capture")
    # The hold is untouched: the whole amount can still be captured.
    captured = await _json(client, merchant, capture, {"amount_to_capture": 10_000})
    assert captured.status_code == 200, captured.text
    assert captured.json()["amount_received"] == 10_000


async def test_form_integers_still_work(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    response = await _form(client, merchant, INTENTS, {"amount": "4990", "currency": "inr"})
    assert response.status_code == 200, response.text
    assert response.json()["amount"] == 4990
    response = await _json(client, merchant, INTENTS, {"amount": 4990, "currency": "INR"})
    assert response.status_code == 200, response.text


BAD_REQUESTS: list[tuple[str, dict[str, Any]]] = [
    (INTENTS, {"amount": 100, "currency": "inr", "return_url": "ftp://x"}),
    (INTENTS, {"amount": 100, "currency": "inr", "payment_method_types": ["cheque"]}),
    (INTENTS, {"amount": 100, "currency": "inr", "metadata": {"k" * 41: "v"}}),
    (INTENTS, {"amount": 100, "currency": "inr", "capture_method": "later"}),
    (INTENTS, {"amount": -1, "currency": "inr"}),
    (INTENTS, {"amount": 100, "currency": "usd "}),
    ("/v1/customers", {"email": "not-an-email"}),
    ("/v1/risk/rules", {"action": "block", "conditions": [{"feature": "x", "op": ">"}]}),
    ("/v1/risk/rules", {"action": "block", "conditions": [], "reason": "r"}),
    ("/v1/refunds", {"charge": "ch_x", "amount": "ten"}),
]


async def test_no_error_message_carries_a_pydantic_prefix(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    for path, body in BAD_REQUESTS:
        for send in (_json, _form):
            response = await send(client, merchant, path, body)
            assert 400 <= response.status_code < 500, (path, body, response.text)
            message = response.json()["error"]["message"]
            for prefix in ("Value error", "Assertion failed"):
                assert prefix not in message, (path, body, message)
