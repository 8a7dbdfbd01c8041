"""Invoice items priced from the catalog (``pricing[price]``, or ``price`` as older API versions
send it): the unit amount, the currency and the description come from the price and its
product, the HSN/SAC code is kept on the line, and the line shows ``pricing.price_details``."""

from __future__ import annotations

from typing import Any

import httpx

from tests.billing.invoices.support import customer, ok
from tests.payments.support import get, post
from tests.support import TestMerchant


async def product_price(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    unit_amount: int,
    *,
    name: str = "Annual audit",
    hsn_sac: str = "998222",
    **price: Any,
) -> dict[str, Any]:
    """A product and its one-time INR price, the price returned."""
    product = await ok(await post(client, merchant, "/v1/products", name=name, hsn_sac=hsn_sac))
    return await ok(
        await post(
            client,
            merchant,
            "/v1/prices",
            product=product["id"],
            unit_amount=unit_amount,
            currency="inr",
            **price,
        )
    )


async def test_an_item_priced_from_the_catalog_takes_the_price_and_the_product(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    buyer = await customer(client, merchant)
    price = await product_price(client, merchant, 250_000)
    invoice = await ok(await post(client, merchant, "/v1/invoices", customer=buyer["id"]))
    item = await ok(
        await post(
            client,
            merchant,
            "/v1/invoiceitems",
            invoice=invoice["id"],
            quantity=3,
            **{"pricing[price]": price["id"]},
        )
    )
    assert (item["amount"], item["quantity"], item["currency"]) == (750_000, 3, "inr")
    assert item["description"] == "Annual audit"
    assert item["pricing"]["price_details"] == {"price": price["id"], "product": price["product"]}
    assert item["pricing"]["unit_amount_decimal"] == "250000"
    drafted = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
    line = drafted["lines"]["data"][0]
    assert line["pricing"]["price_details"]["price"] == price["id"]
    assert drafted["subtotal"] == drafted["total"] == 750_000

    # Older API versions name the price with ``price``; a pending item takes its currency.
    pending = await ok(
        await post(client, merchant, "/v1/invoiceitems", customer=buyer["id"], price=price["id"])
    )
    assert (pending["amount"], pending["currency"]) == (250_000, "inr")
    # A quantity changed keeps the price; an amount given replaces it.
    changed = await ok(
        await post(client, merchant, f"/v1/invoiceitems/{pending['id']}", quantity=2)
    )
    assert changed["amount"] == 500_000 and changed["pricing"]["price_details"] is not None
    replaced = await ok(
        await post(client, merchant, f"/v1/invoiceitems/{pending['id']}", amount=1_000)
    )
    assert replaced["pricing"]["price_details"] is None


async def test_prices_an_item_cannot_take_are_refused_naming_the_parameter(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    buyer = await customer(client, merchant)
    price = await product_price(client, merchant, 1_000)
    monthly = await product_price(
        client, merchant, 1_000, name="Plan", **{"recurring[interval]": "month"}
    )
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"pricing[price]": "price_missing"}, 404, "pricing[price]"),
        ({"pricing[price]": monthly["id"]}, 400, "pricing[price]"),
        ({"pricing[price]": price["id"], "amount": 5}, 400, "pricing[price]"),
        ({"pricing[price]": price["id"], "price": price["id"]}, 400, "price"),
        ({"price": price["id"], "currency": "usd"}, 400, "price"),
    ]
    for params, status, param in cases:
        response = await post(client, merchant, "/v1/invoiceitems", customer=buyer["id"], **params)
        assert response.status_code == status, (params, response.text)
        assert response.json()["error"]["param"] == param, params
