"""Discounts on invoices over HTTP: a coupon and a promotion code taken off before GST (the tax
is on the discounted amount), total_discount_amounts, the redemption counted once at
finalization, and a coupon that cannot apply refused naming ``discounts``."""

from __future__ import annotations

import httpx

from tests.billing.invoices.support import ok
from tests.billing.wiring.test_gst import gst_customer, gst_rate, registered
from tests.payments.support import get, post
from tests.support import TestMerchant


async def test_a_percentage_coupon_and_an_amount_code_are_taken_off_before_gst(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    await registered(client, merchant)
    rate = await gst_rate(client, merchant)
    buyer = await gst_customer(client, merchant, "27")
    coupon = await ok(
        await post(client, merchant, "/v1/coupons", percent_off="10", duration="once")
    )
    flat = await ok(
        await post(
            client, merchant, "/v1/coupons", amount_off=5_000, currency="inr", duration="once"
        )
    )
    code = await ok(
        await post(client, merchant, "/v1/promotion_codes", code="WELCOME", coupon=flat["id"])
    )
    invoice = await ok(
        await post(
            client,
            merchant,
            "/v1/invoices",
            customer=buyer["id"],
            **{
                "default_tax_rates[0]": rate,
                "discounts[0][coupon]": coupon["id"],
                "discounts[1][promotion_code]": "welcome",
            },
        )
    )
    for amount in (60_000, 40_000):
        await ok(
            await post(client, merchant, "/v1/invoiceitems", invoice=invoice["id"], amount=amount)
        )
    drafted = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
    first, second = drafted["discounts"]
    # 10% of 100,000, then 5,000 shared 54,000 : 36,000 → 3,000 and 2,000.
    assert drafted["total_discount_amounts"] == [
        {"discount": first, "amount": 10_000},
        {"discount": second, "amount": 5_000},
    ]
    assert drafted["lines"]["data"][0]["discount_amounts"] == [
        {"discount": first, "amount": 6_000},
        {"discount": second, "amount": 3_000},
    ]
    [tax] = drafted["total_taxes"]
    assert (tax["taxable_amount"], tax["amount"]) == (85_000, 15_300)
    assert (drafted["subtotal"], drafted["total_excluding_tax"], drafted["total"]) == (
        100_000,
        85_000,
        100_300,
    )
    finalized = await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/finalize"))
    assert finalized["amount_due"] == 100_300
    assert (await get(client, merchant, f"/v1/coupons/{coupon['id']}"))["times_redeemed"] == 1
    assert (await get(client, merchant, f"/v1/promotion_codes/{code['id']}"))["times_redeemed"] == 1


async def test_a_coupon_that_cannot_apply_is_refused_naming_discounts(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    buyer = await gst_customer(client, merchant, "27")
    usd = await ok(
        await post(client, merchant, "/v1/coupons", amount_off=500, currency="usd", duration="once")
    )
    for discount in (
        {"discounts[0][coupon]": usd["id"]},
        {"discounts[0][promotion_code]": "NOSUCH"},
        {"discounts[0][coupon]": usd["id"], "discounts[0][promotion_code]": "X"},
    ):
        response = await post(client, merchant, "/v1/invoices", customer=buyer["id"], **discount)
        assert response.status_code in (400, 404), response.text
        assert response.json()["error"]["param"] == "discounts", discount
