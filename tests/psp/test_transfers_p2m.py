"""Paying merchants: a merchant's UPI collect (a payment intent through the merchant API) to a
VPA of this PSP lands in the payer's app and is answered with the PIN; a merchant's dynamic QR,
scanned (decoded by zxing-cpp) and paid, credits the merchant's bank account."""

from __future__ import annotations

import io
from typing import Any

import httpx
import zxingcpp
from PIL import Image

from beyondpay.db.session import Database
from tests.payments.support import deliver_callbacks, get
from tests.psp.support import post
from tests.psp.transfers_support import PIN, balance, pay, ready_payer
from tests.support import TestMerchant

OPENING_BALANCE = 1_00_000_00


async def _collect_intent(
    client: httpx.AsyncClient, merchant: TestMerchant, vpa: str, amount: int
) -> dict[str, Any]:
    response = await client.post(
        "/v1/payment_intents",
        data={
            "amount": str(amount),
            "currency": "inr",
            "confirm": "true",
            "description": "order 42",
            "payment_method_types[0]": "upi",
            "payment_method_data[type]": "upi",
            "payment_method_data[upi][vpa]": vpa,
        },
        headers=merchant.auth(),
    )
    assert response.status_code == 200, response.text
    intent: dict[str, Any] = response.json()
    assert intent["status"] == "requires_action"
    return intent


async def _pending(client: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = await client.get(
        "/v1/psp/collect_requests", params={"status": "pending"}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


async def test_a_merchants_collect_is_approved_in_the_payers_app(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    asha = await ready_payer(client)
    intent = await _collect_intent(client, merchant, asha.vpa, 2_499_00)
    [request] = await _pending(client, asha.headers)
    assert request["amount"] == 2_499_00
    assert request["requester"]["kind"] == "merchant"
    assert request["note"] == "order 42"

    paid = await post(
        client,
        f"/v1/psp/collect_requests/{request['id']}/approve",
        {"pin": PIN},
        headers=asha.headers,
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid"
    assert (await get(client, merchant, f"/v1/payment_intents/{intent['id']}"))[
        "status"
    ] == "succeeded"
    assert await balance(client, asha) == OPENING_BALANCE - 2_499_00
    history = await client.get("/v1/psp/transactions", headers=asha.headers)
    [sent] = history.json()["data"]
    assert sent["payee"]["kind"] == "merchant" and sent["status"] == "succeeded"
    assert sent["collect_request"] == request["id"]
    # The switch's expiry callback comes later and changes nothing.
    await deliver_callbacks(database)
    assert (await get(client, merchant, f"/v1/payment_intents/{intent['id']}"))[
        "status"
    ] == "succeeded"


async def test_a_declined_merchant_collect_fails_the_intent_with_za(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    asha = await ready_payer(client)
    intent = await _collect_intent(client, merchant, asha.vpa, 1_000_00)
    [request] = await _pending(client, asha.headers)
    declined = await post(
        client, f"/v1/psp/collect_requests/{request['id']}/decline", {}, headers=asha.headers
    )
    assert declined.status_code == 200, declined.text
    seen = await get(client, merchant, f"/v1/payment_intents/{intent['id']}")
    assert seen["status"] == "requires_payment_method"
    assert seen["last_payment_error"]["network_decline_code"] == "ZA"
    assert await balance(client, asha) == OPENING_BALANCE


async def test_an_unanswered_merchant_collect_expires_with_u69(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    asha = await ready_payer(client)
    intent = await _collect_intent(client, merchant, asha.vpa, 1_000_00)
    await deliver_callbacks(database)  # five minutes later: the switch expires the collect
    seen = await get(client, merchant, f"/v1/payment_intents/{intent['id']}")
    assert seen["last_payment_error"]["network_decline_code"] == "U69"
    assert await _pending(client, asha.headers) == []


async def test_a_scanned_dynamic_merchant_qr_is_paid(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    asha = await ready_payer(client)
    created = await client.post(
        "/v1/upi/merchant_vpas",
        data={
            "username": "chai.point",
            "merchant_category_code": "5812",
            "display_name": "Chai Point",
        },
        headers=merchant.auth(),
    )
    assert created.status_code == 200, created.text
    qr = await client.get(
        f"/v1/upi/merchant_vpas/{created.json()['id']}/qr.png",
        params={"amount": 180_00, "tr": "ORDER-7", "tn": "two chai"},
        headers=merchant.auth(),
    )
    assert qr.status_code == 200, qr.text
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.content)))
    payload = decoded.text
    assert payload.startswith("upi://pay?")

    review = await post(
        client, "/v1/psp/payments/review", {"qr_payload": payload}, headers=asha.headers
    )
    assert review.status_code == 200, review.text
    assert review.json()["payee"] == {
        "kind": "merchant",
        "name": "Chai Point",
        "masked": review.json()["payee"]["masked"],
    }
    assert review.json()["amount"] == 180_00
    assert review.json()["merchant_category_code"] == "5812"

    other_amount = await pay(client, asha, 200_00, qr_payload=payload)
    assert other_amount.status_code == 400, other_amount.text
    assert other_amount.json()["error"]["param"] == "amount"

    answer = await pay(client, asha, 180_00, qr_payload=payload)
    assert answer.status_code == 200, answer.text
    receipt = answer.json()
    assert receipt["status"] == "succeeded"
    assert receipt["via"] == "qr" and receipt["reference"] == "ORDER-7"
    assert receipt["payee"]["name"] == "Chai Point"
    assert await balance(client, asha) == OPENING_BALANCE - 180_00
