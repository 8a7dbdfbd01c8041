"""Racing requests on real connections of the pool leave one allowed outcome, and the loser a
400 naming its parameter (never a 500): one chosen id, one active lookup key, one active code,
and a product deleted while a price is made for it."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import httpx

from tests.billing.catalog.support import get, post
from tests.support import TestMerchant

RACERS = 6


async def _race(
    client: httpx.AsyncClient, merchant: TestMerchant, path: str, params: dict[str, Any]
) -> Counter[tuple[int, str | None]]:
    responses = await asyncio.gather(
        *(client.post(path, json=params, headers=merchant.auth()) for _ in range(RACERS))
    )
    return Counter(
        (response.status_code, None)
        if response.status_code == 200
        else (response.status_code, response.json()["error"]["code"])
        for response in responses
    )


async def test_one_chosen_id(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    outcomes = await _race(client, merchant, "/v1/products", {"id": "prod_one", "name": "One"})
    assert outcomes == {(200, None): 1, (400, "resource_already_exists"): RACERS - 1}, outcomes
    coupons = await _race(client, merchant, "/v1/coupons", {"id": "ONE", "percent_off": 5})
    assert coupons == {(200, None): 1, (400, "resource_already_exists"): RACERS - 1}, coupons


async def test_one_active_lookup_key(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    product = await post(client, merchant, "/v1/products", {"name": "Plan"})
    params = {"product": product["id"], "currency": "inr", "unit_amount": 1, "lookup_key": "k"}
    outcomes = await _race(client, merchant, "/v1/prices", params)
    assert outcomes == {(200, None): 1, (400, "lookup_key_in_use"): RACERS - 1}, outcomes
    holders = await get(client, merchant, "/v1/prices", {"lookup_keys[0]": "k"})
    assert len(holders["data"]) == 1


async def test_one_active_code(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    coupon = await post(client, merchant, "/v1/coupons", {"percent_off": 5})
    params = {"promotion": {"type": "coupon", "coupon": coupon["id"]}, "code": "RUSH"}
    outcomes = await _race(client, merchant, "/v1/promotion_codes", params)
    assert outcomes == {(200, None): 1, (400, "promotion_code_in_use"): RACERS - 1}, outcomes


async def test_a_product_deleted_while_a_price_is_made_for_it(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    for _ in range(3):
        product = await post(client, merchant, "/v1/products", {"name": "Plan"})
        price, deleted = await asyncio.gather(
            client.post(
                "/v1/prices",
                json={"product": product["id"], "currency": "inr", "unit_amount": 1},
                headers=merchant.auth(),
            ),
            client.delete(f"/v1/products/{product['id']}", headers=merchant.auth()),
        )
        # Either the price came first (the product has a price: not deleted) or the deletion
        # did (no product to price).
        assert sorted([price.status_code, deleted.status_code]) in ([200, 400], [200, 404]), (
            price.text,
            deleted.text,
        )
        if price.status_code == 200:
            assert deleted.json()["error"]["code"] == "product_has_prices"
        else:
            assert price.json()["error"] == {
                "type": "invalid_request_error",
                "code": "resource_missing",
                "message": f"No such product: '{product['id']}'",
                "param": "product",
            }
