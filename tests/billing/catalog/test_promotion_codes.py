"""Promotion codes over HTTP (create with ``promotion[coupon]`` or ``coupon``, codes unique
among active codes in any case, what may change, lists) and the resolution later parts of
billing use (``promotion_code_service.resolve``)."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import httpx
import pytest

from beyondpay.billing.catalog.errors import (
    CouponExpiredError,
    CouponNotApplicableError,
    PromotionCodeInvalidError,
)
from beyondpay.billing.catalog.service import Purchase, discount_amount, promotion_code_service
from beyondpay.db.session import Database
from beyondpay.kit.clock import utcnow
from tests.billing.catalog.support import caller_of, event_types, events_of, get, post, refused
from tests.support import TestMerchant, make_merchant


async def _coupon(client: httpx.AsyncClient, merchant: TestMerchant, **params: Any) -> str:
    terms = params or {"percent_off": 10}
    return str((await post(client, merchant, "/v1/coupons", terms))["id"])


async def test_create_retrieve_update(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    coupon = await _coupon(client, merchant, percent_off=20, max_redemptions=10)
    customer = (await post(client, merchant, "/v1/customers", {"name": "Asha"}))["id"]
    expires_at = int(time.time()) + 86_400
    created = await client.post(
        "/v1/promotion_codes",
        content=(
            f"promotion[type]=coupon&promotion[coupon]={coupon}&code=Welcome-20"
            f"&customer={customer}&expires_at={expires_at}&max_redemptions=5"
            "&restrictions[first_time_transaction]=true&restrictions[minimum_amount]=50000"
            "&restrictions[minimum_amount_currency]=inr"
            "&restrictions[currency_options][usd][minimum_amount]=600&metadata[k]=v"
        ),
        headers={**merchant.auth(), "content-type": "application/x-www-form-urlencoded"},
    )
    assert created.status_code == 200, created.text
    code = created.json()
    assert code["id"].startswith("promo_")
    assert (code["object"], code["code"], code["active"]) == ("promotion_code", "Welcome-20", True)
    assert code["promotion"] == {"type": "coupon", "coupon": coupon}
    assert (code["customer"], code["expires_at"], code["max_redemptions"]) == (
        customer,
        expires_at,
        5,
    )
    assert code["restrictions"] == {
        "currency_options": {"usd": {"minimum_amount": 600}},
        "first_time_transaction": True,
        "minimum_amount": 50_000,
        "minimum_amount_currency": "inr",
    }
    assert (code["times_redeemed"], code["metadata"], code["customer_account"]) == (
        0,
        {"k": "v"},
        None,
    )
    expanded = await get(
        client, merchant, f"/v1/promotion_codes/{code['id']}", {"expand[]": "promotion.coupon"}
    )
    assert expanded["promotion"]["coupon"]["percent_off"] == 20

    older = await post(client, merchant, "/v1/promotion_codes", {"coupon": coupon})
    assert re.fullmatch(r"[0-9A-Z]{8}", older["code"]), older["code"]
    assert older["restrictions"] == {
        "currency_options": {},  # always a hash: Stripe's SDKs read it as one
        "first_time_transaction": False,
        "minimum_amount": None,
        "minimum_amount_currency": None,
    }

    updated = await post(
        client,
        merchant,
        f"/v1/promotion_codes/{code['id']}",
        {
            "metadata": {"k": ""},
            "restrictions": {"currency_options": {"eur": {"minimum_amount": 500}}},
        },
    )
    assert updated["metadata"] == {}
    assert updated["restrictions"]["currency_options"] == {
        "usd": {"minimum_amount": 600},
        "eur": {"minimum_amount": 500},
    }
    for params in (
        {"code": "NEW"},
        {"max_redemptions": 1},
        {"restrictions": {"minimum_amount": 1}},
    ):
        body = await post(client, merchant, f"/v1/promotion_codes/{code['id']}", params, status=400)
        assert refused(body)[0] == "parameter_unknown", params
    assert await event_types(database, code["id"]) == [
        "promotion_code.created",
        "promotion_code.updated",
    ]


async def test_bad_input_is_named(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    coupon = await _coupon(
        client, merchant, percent_off=10, max_redemptions=3, redeem_by=int(time.time()) + 3_600
    )
    later = int(time.time()) + 7_200
    cases: list[tuple[dict[str, Any], int, tuple[str, str | None]]] = [
        ({}, 400, ("parameter_missing", "promotion[coupon]")),
        ({"promotion": {"type": "coupon"}}, 400, ("parameter_missing", "promotion[coupon]")),
        (
            {"promotion": {"type": "gift", "coupon": coupon}},
            400,
            ("parameter_invalid", "promotion[type]"),
        ),
        (
            {"promotion": {"type": "coupon", "coupon": coupon}, "coupon": coupon},
            400,
            ("parameter_invalid", "coupon"),
        ),
        ({"coupon": "NOPE"}, 404, ("resource_missing", "coupon")),
        (
            {"promotion": {"type": "coupon", "coupon": "NOPE"}},
            404,
            ("resource_missing", "promotion[coupon]"),
        ),
        ({"coupon": coupon, "code": "no spaces"}, 400, ("parameter_invalid", "code")),
        ({"coupon": coupon, "code": "under_score"}, 400, ("parameter_invalid", "code")),
        ({"coupon": coupon, "customer": "cus_missing"}, 404, ("resource_missing", "customer")),
        (
            {"coupon": coupon, "expires_at": int(time.time()) - 1},
            400,
            ("parameter_invalid", "expires_at"),
        ),
        ({"coupon": coupon, "expires_at": later}, 400, ("parameter_invalid", "expires_at")),
        ({"coupon": coupon, "max_redemptions": 4}, 400, ("parameter_invalid", "max_redemptions")),
        (
            {"coupon": coupon, "restrictions": {"minimum_amount": 100}},
            400,
            ("parameter_missing", "restrictions[minimum_amount_currency]"),
        ),
        (
            {"coupon": coupon, "restrictions": {"minimum_amount_currency": "inr"}},
            400,
            ("parameter_missing", "restrictions[minimum_amount]"),
        ),
        (
            {
                "coupon": coupon,
                "restrictions": {
                    "minimum_amount": 100,
                    "minimum_amount_currency": "inr",
                    "currency_options": {"inr": {"minimum_amount": 5}},
                },
            },
            400,
            ("parameter_invalid", "restrictions[currency_options]"),
        ),
    ]
    for params, status, expected in cases:
        body = await post(client, merchant, "/v1/promotion_codes", params, status=status)
        assert refused(body) == expected, (params, body)
    assert (await get(client, merchant, "/v1/promotion_codes"))["data"] == []


async def test_a_code_names_one_active_code_in_any_case(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    coupon = await _coupon(client, merchant)
    first = await post(
        client, merchant, "/v1/promotion_codes", {"coupon": coupon, "code": "Diwali"}
    )
    taken = await post(
        client, merchant, "/v1/promotion_codes", {"coupon": coupon, "code": "DIWALI"}, status=400
    )
    assert refused(taken) == ("promotion_code_in_use", "code")
    # An inactive code holds its text for no one.
    dormant = await post(
        client,
        merchant,
        "/v1/promotion_codes",
        {"coupon": coupon, "code": "diwali", "active": False},
    )
    await post(client, merchant, f"/v1/promotion_codes/{first['id']}", {"active": False})
    second = await post(
        client, merchant, "/v1/promotion_codes", {"coupon": coupon, "code": "DIWALI"}
    )
    for code in (first, dormant):
        body = await post(
            client, merchant, f"/v1/promotion_codes/{code['id']}", {"active": True}, status=400
        )
        assert refused(body) == ("promotion_code_in_use", "active")
    await post(client, merchant, f"/v1/promotion_codes/{second['id']}", {"active": False})
    assert (await post(client, merchant, f"/v1/promotion_codes/{first['id']}", {"active": True}))[
        "active"
    ] is True
    # Another merchant, and the other mode, have codes of their own.
    other = await make_merchant(database, name="Other")
    await post(
        client,
        other,
        "/v1/promotion_codes",
        {"coupon": await _coupon(client, other), "code": "DIWALI"},
    )
    live = await post(client, merchant, "/v1/coupons", {"percent_off": 5}, key="sk_live")
    await post(
        client,
        merchant,
        "/v1/promotion_codes",
        {"coupon": live["id"], "code": "DIWALI"},
        key="sk_live",
    )
    # A code of a deleted coupon is not reactivated.
    await client.delete(f"/v1/coupons/{coupon}", headers=merchant.auth())
    body = await post(
        client, merchant, f"/v1/promotion_codes/{second['id']}", {"active": True}, status=400
    )
    assert refused(body) == ("parameter_invalid", "active")
    events = await events_of(database, first["id"])
    assert [event["data"]["previous_attributes"] for event in events[1:]] == [
        {"active": True},
        {"active": False},
        {"active": True},
    ]


async def test_lists(client: httpx.AsyncClient, merchant: TestMerchant, database: Database) -> None:
    gold, silver = await _coupon(client, merchant), await _coupon(client, merchant)
    customer = (await post(client, merchant, "/v1/customers", {"name": "Asha"}))["id"]
    made = [
        (await post(client, merchant, "/v1/promotion_codes", params))["id"]
        for params in (
            {"coupon": gold, "code": "GOLD1"},
            {"coupon": gold, "code": "GOLD2", "customer": customer},
            {"coupon": silver, "code": "SILVER", "active": False},
        )
    ]

    async def listed(**params: Any) -> list[str]:
        return [
            item["id"]
            for item in (await get(client, merchant, "/v1/promotion_codes", params))["data"]
        ]

    assert await listed() == made[::-1]
    assert await listed(code="gold1") == [made[0]]
    assert await listed(coupon=gold) == [made[1], made[0]]
    assert await listed(customer=customer) == [made[1]]
    assert await listed(active="false") == [made[2]]
    assert await listed(limit=1, starting_after=made[2]) == [made[1]]
    other = await make_merchant(database, name="Other")
    assert refused(await get(client, other, f"/v1/promotion_codes/{made[0]}", status=404)) == (
        "resource_missing",
        "id",
    )
    reader = await make_merchant(
        database, name="Reader", restricted_scopes=("promotion_codes:read",)
    )
    await post(client, reader, "/v1/promotion_codes", {"coupon": "X"}, key="rk_test", status=403)
    assert (await get(client, reader, "/v1/promotion_codes", key="rk_test"))["data"] == []


async def test_resolve_checks_a_code_against_a_purchase(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    coupon = await _coupon(client, merchant, amount_off=10_000, currency="inr")
    customer = (await post(client, merchant, "/v1/customers", {"name": "Asha"}))["id"]
    code = await post(
        client,
        merchant,
        "/v1/promotion_codes",
        {
            "coupon": coupon,
            "code": "WELCOME",
            "customer": customer,
            "expires_at": int(time.time()) + 3_600,
            "restrictions": {
                "first_time_transaction": True,
                "minimum_amount": 50_000,
                "minimum_amount_currency": "inr",
            },
        },
    )
    caller = caller_of(merchant)
    first = Purchase(customer, 60_000, "inr", first_transaction=True)

    async def resolve(text: str, purchase: Purchase, **options: Any) -> Any:
        async with database.unit_of_work() as session:
            return await promotion_code_service.resolve(
                session, caller, text, purchase=purchase, **options
            )

    for text in ("welcome", "WELCOME", code["id"]):
        resolved = await resolve(text, first)
        assert resolved.promotion_code.id == code["id"]
        assert resolved.coupon.coupon_id == coupon
        assert discount_amount(60_000, "inr", resolved.coupon) == 10_000

    refusals: list[tuple[str, Purchase, dict[str, Any], type[Exception], str]] = [
        ("NOPE", first, {}, PromotionCodeInvalidError, "No active promotion code"),
        (
            "WELCOME",
            Purchase("cus_other", 60_000, "inr", True),
            {},
            PromotionCodeInvalidError,
            "another customer",
        ),
        (
            "WELCOME",
            Purchase(customer, 60_000, "inr", False),
            {},
            PromotionCodeInvalidError,
            "first transaction",
        ),
        (
            "WELCOME",
            Purchase(customer, 49_999, "inr", True),
            {},
            PromotionCodeInvalidError,
            "minimum amount",
        ),
        (
            "WELCOME",
            Purchase(customer, 10**6, "usd", True),
            {},
            PromotionCodeInvalidError,
            "minimum amount",
        ),
        (
            "WELCOME",
            first,
            {"at": utcnow() + timedelta(hours=2)},
            PromotionCodeInvalidError,
            "has expired",
        ),
    ]
    for text, purchase, options, error, words in refusals:
        with pytest.raises(error) as raised:
            await resolve(text, purchase, param="discounts[0][promotion_code]", **options)
        assert words in raised.value.message, raised.value.message
        assert raised.value.param == "discounts[0][promotion_code]"

    # A code for an amount off in rupees, used for dollars: its coupon takes nothing off.
    anyone = await post(client, merchant, "/v1/promotion_codes", {"coupon": coupon, "code": "ANY"})
    with pytest.raises(CouponNotApplicableError):
        await resolve("ANY", Purchase(None, 100, "usd", False))
    await post(client, merchant, f"/v1/promotion_codes/{anyone['id']}", {"active": False})
    with pytest.raises(PromotionCodeInvalidError, match="not active"):
        await resolve(anyone["id"], Purchase(None, 100, "inr", False))
    # Its coupon's own limits come first: a coupon past redeem_by fails every code of it.
    ending = await _coupon(client, merchant, percent_off=5, redeem_by=int(time.time()) + 60)
    await post(client, merchant, "/v1/promotion_codes", {"coupon": ending, "code": "SOON"})
    with pytest.raises(CouponExpiredError, match="redeem_by"):
        await resolve("SOON", Purchase(None, 100, "inr", False), at=utcnow() + timedelta(minutes=2))
