"""A payer ready to pay, made over HTTP the way a payer app does it: sign up, bind the device,
link a bank account with its debit card, set the UPI PIN, create a VPA."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.psp.support import PspPayer, bind_device, post, sign_up

PIN = "2580"
CARD_EXPIRY = {"card_expiry_month": 12, "card_expiry_year": 2030}


@dataclass
class ReadyPayer:
    __test__ = False

    payer: PspPayer
    bank_account: str
    account_ref: str
    vpa: str
    vpa_id: str

    @property
    def headers(self) -> dict[str, str]:
        return self.payer.headers


def card(payer: PspPayer) -> dict[str, Any]:
    return {"card_last6": payer.mobile[-6:], **CARD_EXPIRY}


async def ready_payer(
    client: httpx.AsyncClient,
    *,
    name: str = "Asha Rao",
    bank: str = "sbx1",
    mobile: str | None = None,
) -> ReadyPayer:
    payer = await sign_up(client, mobile=mobile, name=name)
    await bind_device(client, payer)
    linked = await post(
        client, "/v1/psp/bank_accounts", {"bank": bank, **card(payer)}, headers=payer.headers
    )
    assert linked.status_code == 200, linked.text
    account = linked.json()
    pin = await post(
        client,
        f"/v1/psp/bank_accounts/{account['id']}/pin",
        {"pin": PIN, **card(payer)},
        headers=payer.headers,
    )
    assert pin.status_code == 200, pin.text
    username = "p" + secrets.token_hex(5)
    vpa = await post(
        client,
        "/v1/psp/vpas",
        {"username": username, "bank_account": account["id"]},
        headers=payer.headers,
    )
    assert vpa.status_code == 200, vpa.text
    return ReadyPayer(
        payer=payer,
        bank_account=account["id"],
        account_ref=str(account.get("account_ref", "")),
        vpa=vpa.json()["vpa"],
        vpa_id=vpa.json()["id"],
    )


async def pay(
    client: httpx.AsyncClient,
    payer: ReadyPayer,
    amount: int,
    *,
    pin: str = PIN,
    request_id: str | None = None,
    **payee: Any,
) -> httpx.Response:
    data = {
        "client_request_id": request_id or uuid.uuid4().hex,
        "amount": amount,
        "pin": pin,
        **payee,
    }
    return await post(client, "/v1/psp/payments", data, headers=payer.headers)


async def balance(client: httpx.AsyncClient, payer: ReadyPayer) -> int:
    answer = await post(
        client,
        f"/v1/psp/bank_accounts/{payer.bank_account}/balance",
        {"pin": PIN},
        headers=payer.headers,
    )
    assert answer.status_code == 200, answer.text
    available: int = answer.json()["available"]
    return available
