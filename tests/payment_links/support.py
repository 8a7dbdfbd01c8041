"""Helpers for payment links' tests: prices and a link made over HTTP, visiting it."""

from __future__ import annotations

from typing import Any

import httpx

from tests.billing.invoices.support import ok
from tests.payments.support import post
from tests.support import TestMerchant


async def price(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    name: str,
    unit_amount: int,
    currency: str = "inr",
    **extra: Any,
) -> str:
    made = await ok(
        await post(
            client,
            merchant,
            "/v1/prices",
            currency=currency,
            unit_amount=str(unit_amount),
            **{"product_data[name]": name},
            **extra,
        )
    )
    return str(made["id"])


async def link(client: httpx.AsyncClient, merchant: TestMerchant, **extra: Any) -> dict[str, Any]:
    """A link selling a ₹1,499.00 kurta twice and ₹250.50 gift wrap (total ₹3,248.50)."""
    kurta = await price(client, merchant, "Cotton kurta", 149_900)
    wrap = await price(client, merchant, "Gift wrap", 25_050)
    params: dict[str, Any] = {
        "line_items[0][price]": kurta,
        "line_items[0][quantity]": "2",
        "line_items[1][price]": wrap,
        "line_items[1][quantity]": "1",
        **extra,
    }
    sent = {key: value for key, value in params.items() if value is not None}
    return await ok(await post(client, merchant, "/v1/payment_links", **sent))


def path_of(made: dict[str, Any]) -> str:
    return httpx.URL(made["url"]).path


async def visit(client: httpx.AsyncClient, made: dict[str, Any]) -> httpx.Response:
    """One visit of the link (not following its redirect)."""
    return await client.get(path_of(made), follow_redirects=False)
