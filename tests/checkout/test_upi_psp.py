"""A session's UPI QR paid by a payer of our PSP, over HTTP (the browser test reads the QR
from the page's pixels; test_race.py races two payers): the session completes with one
charge, a refund credits that payer back, and a payment of the QR after the session is paid
or expired is refused with B3, debiting nobody."""

from __future__ import annotations

import html
import re

import httpx

from tests.billing.invoices.support import ok
from tests.checkout.support import page, path_of, pay, session
from tests.payments.support import get, post
from tests.psp.transfers_support import balance, ready_payer
from tests.psp.transfers_support import pay as pay_qr
from tests.support import TestMerchant

UPI_LINK = re.compile(r'href="(upi://pay\?[^"]+)"')


async def _qr(client: httpx.AsyncClient, made: dict[str, str]) -> str:
    path = path_of(made)
    assert (await pay(client, path, method="upi")).status_code == 303
    shown, _ = await page(client, path)
    found = UPI_LINK.search(shown.text)
    assert found is not None
    return html.unescape(found.group(1))


async def test_a_qr_paid_by_a_psp_payer_is_refunded_to_that_payer(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    asha = await ready_payer(client)
    before = await balance(client, asha)
    made = await session(client, merchant)
    link = await _qr(client, made)
    review = await client.post(
        "/v1/psp/payments/review", json={"qr_payload": link}, headers=asha.headers
    )
    assert review.status_code == 200, review.text
    assert review.json()["payee"]["name"] == "Acme"
    assert review.json()["amount"] == made["amount_total"]
    paid = await pay_qr(client, asha, int(made["amount_total"]), qr_payload=link)
    assert paid.status_code == 200, paid.text
    done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert (done["status"], done["payment_status"]) == ("complete", "paid")
    charges = await get(client, merchant, "/v1/charges", payment_intent=done["payment_intent"])
    [charge] = charges["data"]
    assert charge["amount_captured"] == made["amount_total"]
    assert await balance(client, asha) == before - int(made["amount_total"])
    await ok(await post(client, merchant, "/v1/refunds", charge=charge["id"]))
    assert await balance(client, asha) == before


async def test_a_qr_of_an_expired_session_is_refused_before_any_money_moves(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    asha = await ready_payer(client)
    before = await balance(client, asha)
    made = await session(client, merchant)
    link = await _qr(client, made)
    await ok(await post(client, merchant, f"/v1/checkout/sessions/{made['id']}/expire"))
    refused = await pay_qr(client, asha, int(made["amount_total"]), qr_payload=link)
    assert refused.status_code == 402, refused.text
    assert refused.json()["error"]["npci_code"] == "B3"
    assert await balance(client, asha) == before
