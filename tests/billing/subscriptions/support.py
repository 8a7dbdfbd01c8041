"""Helpers for subscription tests over HTTP: a monthly price, a subscription, and the
subscriptions' jobs run as the worker would."""

from __future__ import annotations

from typing import Any

import httpx

from tests.billing.invoices.support import ok
from tests.payments.support import post
from tests.support import TestMerchant


async def monthly_price(
    client: httpx.AsyncClient, merchant: TestMerchant, amount: int = 99_900, name: str = "Pro"
) -> dict[str, Any]:
    return await ok(
        await post(
            client,
            merchant,
            "/v1/prices",
            currency="inr",
            unit_amount=amount,
            **{"product_data[name]": name, "recurring[interval]": "month"},
        )
    )


async def subscribe(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    customer_id: str,
    price_id: str,
    status: int = 200,
    **params: Any,
) -> dict[str, Any]:
    body = {"customer": customer_id, "items[0][price]": price_id, **params}
    return await ok(await post(client, merchant, "/v1/subscriptions", **body), status)
