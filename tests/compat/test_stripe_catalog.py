"""The official ``stripe`` SDK through the billing catalog over real HTTP: products (with a
default price, search, deletion), prices (monthly and one-time, lookup keys, search), coupons
and promotion codes (``promotion[coupon]``, as stripe-python 16 sends it): create, retrieve,
update, list with auto-paging, search and delete, each answered in the SDK's own classes, and
refusals raised as the SDK's errors naming the parameter."""

from __future__ import annotations

import time

import pytest
import stripe

from tests.compat.server import new_merchant, sdk_client

PRODUCTS_MANY = 12  # two pages of 10 for auto-paging


@pytest.fixture
async def client(server_url: str, compat_database_url: str) -> stripe.StripeClient:
    merchant = await new_merchant(compat_database_url)
    return sdk_client(server_url, merchant.keys["sk_test"])


def test_products_and_prices(client: stripe.StripeClient) -> None:
    product = client.v1.products.create(
        {
            "name": "Gold plan",
            "description": "Priority support",
            "metadata": {"tier": "gold"},
            "default_price_data": {
                "currency": "inr",
                "unit_amount": 49_900,
                "recurring": {"interval": "month"},
            },
            "expand": ["default_price"],
        }
    )
    assert isinstance(product, stripe.Product)
    assert product.id.startswith("prod_") and product.name == "Gold plan"
    monthly = product.default_price
    assert isinstance(monthly, stripe.Price)
    assert monthly.unit_amount == 49_900 and monthly.recurring is not None
    assert (monthly.recurring.interval, monthly.recurring.interval_count) == ("month", 1)
    assert monthly.type == "recurring" and monthly.tax_behavior == "unspecified"

    yearly = client.v1.prices.create(
        {
            "product": product.id,
            "currency": "inr",
            "unit_amount": 499_000,
            "recurring": {"interval": "year", "trial_period_days": 7},
            "lookup_key": "gold_yearly",
            "tax_behavior": "inclusive",
            "nickname": "Yearly",
        }
    )
    assert yearly.recurring is not None and yearly.recurring.trial_period_days == 7
    once = client.v1.prices.create(
        {
            "currency": "inr",
            "unit_amount_decimal": "1500",  # type: ignore[typeddict-item]
            "product_data": {"name": "Setup fee"},
            "expand": ["product"],
        }
    )
    assert isinstance(once.product, stripe.Product) and once.product.name == "Setup fee"
    assert once.unit_amount == 1_500 and once.recurring is None

    fetched = client.v1.prices.retrieve(yearly.id, {"expand": ["product"]})
    assert isinstance(fetched.product, stripe.Product) and fetched.product.id == product.id
    updated = client.v1.prices.update(
        yearly.id, {"metadata": {"plan": "gold"}, "nickname": "Annual"}
    )
    assert updated.nickname == "Annual" and updated.metadata.to_dict() == {"plan": "gold"}
    found = client.v1.prices.list({"lookup_keys": ["gold_yearly"]})
    assert [price.id for price in found.data] == [yearly.id]
    assert [price.id for price in client.v1.prices.list({"product": product.id}).data] == [
        yearly.id,
        monthly.id,
    ]
    searched = client.v1.prices.search({"query": f"product:'{product.id}' AND type:'recurring'"})
    assert isinstance(searched, stripe.SearchResultObject)
    assert [price.id for price in searched.data] == [yearly.id, monthly.id]

    renamed = client.v1.products.update(product.id, {"name": "Gold", "hsn_sac": "998314"})  # type: ignore[typeddict-unknown-key]
    assert renamed.name == "Gold" and renamed["hsn_sac"] == "998314"
    assert client.v1.products.retrieve(product.id).to_dict() == renamed.to_dict()
    with pytest.raises(stripe.InvalidRequestError) as undeletable:
        client.v1.products.delete(product.id)
    assert undeletable.value.code == "product_has_prices"

    bare = client.v1.products.create({"name": "Unpriced", "id": "prod_unpriced"})
    deleted = client.v1.products.delete(bare.id)
    assert deleted.id == "prod_unpriced" and deleted.deleted is True
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.products.retrieve(bare.id)
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"


def test_product_lists_and_search_page_through_everything(client: stripe.StripeClient) -> None:
    made = [
        client.v1.products.create(
            {
                "name": f"Plan {index}",
                "metadata": {"batch": "b1"},
                **({"id": f"plan_{index}"} if index % 2 else {}),
            }  # type: ignore[typeddict-item]
        ).id
        for index in range(PRODUCTS_MANY)
    ]
    first = client.v1.products.list({"limit": 10})
    assert isinstance(first, stripe.ListObject) and first.has_more is True
    assert [product.id for product in first.auto_paging_iter()] == made[::-1]
    searched = client.v1.products.search({"query": "metadata['batch']:'b1'", "limit": 5})
    assert searched.has_more is True and searched.next_page is not None
    assert [product.id for product in searched.auto_paging_iter()] == made[::-1]
    only = client.v1.products.list({"ids": [made[1], made[2]]})
    assert [product.id for product in only.data] == [made[2], made[1]]


def test_refusals_name_the_parameter(client: stripe.StripeClient) -> None:
    product = client.v1.products.create({"name": "Plan"})
    with pytest.raises(stripe.InvalidRequestError) as tiered:
        client.v1.prices.create(
            {"product": product.id, "currency": "inr", "billing_scheme": "tiered", "unit_amount": 1}
        )
    assert tiered.value.param == "billing_scheme" and "tiers may wait" in str(tiered.value)
    with pytest.raises(stripe.InvalidRequestError) as too_long:
        client.v1.prices.create(
            {
                "product": product.id,
                "currency": "inr",
                "unit_amount": 1,
                "recurring": {"interval": "month", "interval_count": 13},
            }
        )
    assert too_long.value.param == "recurring[interval_count]"
    with pytest.raises(stripe.InvalidRequestError) as metered:
        client.v1.prices.create(
            {
                "product": product.id,
                "currency": "inr",
                "unit_amount": 1,
                "recurring": {"interval": "month", "usage_type": "metered"},
            }
        )
    assert metered.value.param == "recurring[usage_type]"
    with pytest.raises(stripe.InvalidRequestError) as hsn:
        client.v1.products.create({"name": "P", "hsn_sac": "12345"})  # type: ignore[typeddict-unknown-key]
    assert hsn.value.param == "hsn_sac"
    with pytest.raises(stripe.InvalidRequestError) as percent:
        client.v1.coupons.create({"percent_off": 12.345})
    assert percent.value.param == "percent_off"


def test_coupons_and_promotion_codes(client: stripe.StripeClient) -> None:
    redeem_by = int(time.time()) + 86_400
    coupon = client.v1.coupons.create(
        {
            "id": "DIWALI25",
            "percent_off": 25.5,
            "duration": "repeating",
            "duration_in_months": 3,
            "max_redemptions": 100,
            "redeem_by": redeem_by,
            "name": "Diwali",
        }
    )
    assert isinstance(coupon, stripe.Coupon)
    assert (coupon.id, coupon.percent_off, coupon.valid) == ("DIWALI25", 25.5, True)
    assert (coupon.duration, coupon.duration_in_months, coupon.redeem_by) == (
        "repeating",
        3,
        redeem_by,
    )
    flat = client.v1.coupons.create({"amount_off": 50_000, "currency": "inr", "duration": "once"})
    assert flat.amount_off == 50_000 and len(flat.id) == 8
    renamed = client.v1.coupons.update(coupon.id, {"name": "Diwali sale", "metadata": {"k": "v"}})
    assert renamed.name == "Diwali sale"
    assert client.v1.coupons.retrieve(coupon.id).to_dict() == renamed.to_dict()
    assert [item.id for item in client.v1.coupons.list().auto_paging_iter()] == [flat.id, coupon.id]

    code = client.v1.promotion_codes.create(
        {
            "promotion": {"type": "coupon", "coupon": coupon.id},
            "code": "FESTIVE",
            "max_redemptions": 10,
            "restrictions": {"minimum_amount": 100_000, "minimum_amount_currency": "inr"},
        }
    )
    assert isinstance(code, stripe.PromotionCode)
    assert code.promotion.type == "coupon" and code.promotion.coupon == coupon.id
    assert code.restrictions.minimum_amount == 100_000 and code.active is True
    expanded = client.v1.promotion_codes.retrieve(code.id, {"expand": ["promotion.coupon"]})
    assert isinstance(expanded.promotion.coupon, stripe.Coupon)
    with pytest.raises(stripe.InvalidRequestError) as taken:
        client.v1.promotion_codes.create(
            {"promotion": {"type": "coupon", "coupon": flat.id}, "code": "festive"}
        )
    assert taken.value.code == "promotion_code_in_use" and taken.value.param == "code"
    paused = client.v1.promotion_codes.update(code.id, {"active": False, "metadata": {"k": "v"}})
    assert paused.active is False
    listed = client.v1.promotion_codes.list({"code": "festive", "active": False})
    assert [item.id for item in listed.auto_paging_iter()] == [code.id]
    assert client.v1.promotion_codes.list({"coupon": flat.id}).data == []

    deleted = client.v1.coupons.delete(flat.id)
    assert deleted.deleted is True and deleted.id == flat.id
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.coupons.retrieve(flat.id)
    assert missing.value.code == "resource_missing"
