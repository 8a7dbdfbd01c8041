"""Helpers of the Connect tests: a platform with available funds, its connected accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.payments.tasks import release_funds
from tests.payments.support import get, pay, post
from tests.support import TestMerchant

# A ₹100 card payment leaves ₹98 after the platform fee (the payments tests' figure).
NET_OF_ONE_PAYMENT = 9_800


async def fund(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, payments: int = 1
) -> int:
    """``payments`` card payments of ₹100 made available at once (as if two days passed);
    the merchant's available balance after it."""
    clock = FrozenClock(datetime.now(UTC))
    with use_clock(clock):
        for _ in range(payments):
            await pay(client, merchant, payment_method="pm_card_visa")
        clock.advance(timedelta(days=2, seconds=1))
        await release_funds(database)
    return await available(client, merchant)


async def available(
    client: httpx.AsyncClient, merchant: TestMerchant, account: str | None = None
) -> int:
    headers = merchant.auth() | ({"Stripe-Account": account} if account else {})
    response = await client.get("/v1/balance", headers=headers)
    assert response.status_code == 200, response.text
    return sum(item["amount"] for item in response.json()["available"])


async def connected(
    client: httpx.AsyncClient, platform: TestMerchant, **params: Any
) -> dict[str, Any]:
    body = {"type": "custom", "country": "IN", "email": "shop@example.com", **params}
    response = await post(client, platform, "/v1/accounts", **body)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def transfer(
    client: httpx.AsyncClient, platform: TestMerchant, destination: str, amount: int, **more: Any
) -> httpx.Response:
    return await post(
        client,
        platform,
        "/v1/transfers",
        amount=str(amount),
        currency="inr",
        destination=destination,
        **more,
    )


async def nets_match_balance(
    client: httpx.AsyncClient, merchant: TestMerchant, account: str | None = None
) -> tuple[int, int]:
    """(ledger balance available + pending, sum of balance transactions' net) of the merchant,
    or of its connected ``account`` read through ``Stripe-Account``."""
    headers = merchant.auth() | ({"Stripe-Account": account} if account else {})
    balance = (await client.get("/v1/balance", headers=headers)).json()
    total = sum(item["amount"] for item in balance["available"] + balance["pending"])
    listed = (
        await client.get("/v1/balance_transactions", params={"limit": 100}, headers=headers)
    ).json()
    assert not listed["has_more"]
    return total, sum(item["net"] for item in listed["data"])


__all__ = ["get"]
