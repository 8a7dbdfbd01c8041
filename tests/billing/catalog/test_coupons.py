"""Coupons over HTTP: percent or amount off, durations, limits, ids chosen or generated; what
may change; deletion (its promotion codes deactivated, its id kept); lists; who may call."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from typing import Any

import httpx

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, get_clock, use_clock
from tests.billing.catalog.support import event_types, events_of, get, post, refused
from tests.support import TestMerchant, make_merchant


async def test_percent_and_amount_coupons(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    redeem_by = int(time.time()) + 86_400
    created = await client.post(
        "/v1/coupons",
        content=(
            "percent_off=12.5&duration=repeating&duration_in_months=3&max_redemptions=100"
            f"&redeem_by={redeem_by}&name=Diwali&metadata[campaign]=diwali"
        ),
        headers={**merchant.auth(), "content-type": "application/x-www-form-urlencoded"},
    )
    assert created.status_code == 200, created.text
    percent = created.json()
    assert re.fullmatch(r"[0-9A-Z]{8}", percent["id"]), percent["id"]
    assert (percent["object"], percent["percent_off"], percent["amount_off"]) == (
        "coupon",
        12.5,
        None,
    )
    assert (percent["duration"], percent["duration_in_months"]) == ("repeating", 3)
    assert (percent["max_redemptions"], percent["redeem_by"], percent["times_redeemed"]) == (
        100,
        redeem_by,
        0,
    )
    assert (percent["valid"], percent["name"], percent["currency"]) == (True, "Diwali", None)
    assert percent["applies_to"] is None and percent["currency_options"] is None
    assert await get(client, merchant, f"/v1/coupons/{percent['id']}") == percent

    product = await post(client, merchant, "/v1/products", {"name": "Gold"})
    amount = await post(
        client,
        merchant,
        "/v1/coupons",
        {
            "id": "FLAT500",
            "amount_off": 50_000,
            "currency": "INR",
            "currency_options": {"USD": {"amount_off": 600}},
            "duration": "forever",
            "applies_to": {"products": [product["id"], product["id"]]},
        },
    )
    assert (amount["id"], amount["amount_off"], amount["currency"]) == ("FLAT500", 50_000, "inr")
    assert amount["currency_options"] == {"usd": {"amount_off": 600}}
    assert amount["applies_to"] == {"products": [product["id"]]}
    assert (amount["duration"], amount["percent_off"]) == ("forever", None)
    assert await event_types(database, "FLAT500") == ["coupon.created"]


async def test_bad_terms_are_named(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    past = int(time.time()) - 60
    cases: list[tuple[dict[str, Any], int, tuple[str, str | None]]] = [
        ({}, 400, ("parameter_missing", "percent_off")),
        (
            {"percent_off": 10, "amount_off": 100, "currency": "inr"},
            400,
            ("parameter_invalid", "amount_off"),
        ),
        ({"amount_off": 100}, 400, ("parameter_missing", "currency")),
        ({"percent_off": 10, "currency": "inr"}, 400, ("parameter_invalid", "currency")),
        ({"percent_off": 0}, 400, ("parameter_invalid", "percent_off")),
        ({"percent_off": 100.01}, 400, ("parameter_invalid", "percent_off")),
        ({"percent_off": "12.345"}, 400, ("parameter_invalid", "percent_off")),
        ({"percent_off": "ten"}, 400, ("parameter_invalid", "percent_off")),
        ({"amount_off": 0, "currency": "inr"}, 400, ("parameter_invalid", "amount_off")),
        (
            {"percent_off": 10, "duration": "repeating"},
            400,
            ("parameter_missing", "duration_in_months"),
        ),
        (
            {"percent_off": 10, "duration_in_months": 3},
            400,
            ("parameter_invalid", "duration_in_months"),
        ),
        (
            {"percent_off": 10, "duration": "repeating", "duration_in_months": 121},
            400,
            ("parameter_invalid", "duration_in_months"),
        ),
        ({"percent_off": 10, "duration": "weekly"}, 400, ("parameter_invalid", "duration")),
        ({"percent_off": 10, "redeem_by": past}, 400, ("parameter_invalid", "redeem_by")),
        ({"percent_off": 10, "max_redemptions": 0}, 400, ("parameter_invalid", "max_redemptions")),
        ({"percent_off": 10, "name": "x" * 41}, 400, ("parameter_invalid", "name")),
        ({"percent_off": 10, "id": "has space"}, 400, ("parameter_invalid", "id")),
        (
            {"percent_off": 10, "applies_to": {"products": ["prod_missing"]}},
            404,
            ("resource_missing", "applies_to[products][0]"),
        ),
        (
            {"percent_off": 10, "currency_options": {"usd": {"amount_off": 1}}},
            400,
            ("parameter_invalid", "currency_options"),
        ),
        (
            {"amount_off": 1, "currency": "inr", "currency_options": {"INR": {"amount_off": 2}}},
            400,
            ("parameter_invalid", "currency_options"),
        ),
        (
            {"amount_off": 1, "currency": "inr", "currency_options": {"xyz": {"amount_off": 2}}},
            400,
            ("parameter_invalid", "currency_options"),
        ),
    ]
    for params, status, expected in cases:
        body = await post(client, merchant, "/v1/coupons", params, status=status)
        assert refused(body) == expected, (params, body)
    assert (await get(client, merchant, "/v1/coupons"))["data"] == []


async def test_what_may_change_and_deletion(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    coupon = await post(
        client, merchant, "/v1/coupons", {"id": "SAVE", "amount_off": 100, "currency": "inr"}
    )
    for params in ({"percent_off": 5}, {"amount_off": 5}, {"duration": "forever"}):
        body = await post(client, merchant, "/v1/coupons/SAVE", params, status=400)
        assert refused(body)[0] == "parameter_unknown", params
    updated = await post(
        client,
        merchant,
        "/v1/coupons/SAVE",
        {"name": "Save", "metadata": {"k": "v"}, "currency_options": {"usd": {"amount_off": 2}}},
    )
    assert (updated["name"], updated["metadata"]) == ("Save", {"k": "v"})
    assert updated["currency_options"] == {"usd": {"amount_off": 2}}
    assert (await post(client, merchant, "/v1/coupons/SAVE", {"name": ""}))["name"] is None

    codes = [
        await post(client, merchant, "/v1/promotion_codes", {"coupon": "SAVE", "code": code})
        for code in ("SAVE1", "SAVE2")
    ]
    await post(client, merchant, f"/v1/promotion_codes/{codes[1]['id']}", {"active": False})
    deleted = await client.delete("/v1/coupons/SAVE", headers=merchant.auth())
    assert deleted.json() == {"id": "SAVE", "object": "coupon", "deleted": True}
    assert refused(await get(client, merchant, "/v1/coupons/SAVE", status=404)) == (
        "resource_missing",
        "id",
    )
    again = await client.delete("/v1/coupons/SAVE", headers=merchant.auth())
    assert again.status_code == 404
    reused = await post(
        client, merchant, "/v1/coupons", {"id": "SAVE", "percent_off": 5}, status=400
    )
    assert refused(reused) == ("resource_already_exists", "id")
    assert coupon["id"] not in [
        item["id"] for item in (await get(client, merchant, "/v1/coupons"))["data"]
    ]
    # Its active code was deactivated with it, the inactive one left as it was.
    first = await get(client, merchant, f"/v1/promotion_codes/{codes[0]['id']}")
    assert first["active"] is False
    events = await events_of(database, codes[0]["id"])
    assert [event["type"] for event in events] == [
        "promotion_code.created",
        "promotion_code.updated",
    ]
    assert events[1]["data"]["previous_attributes"] == {"active": True}
    assert await event_types(database, codes[1]["id"]) == [
        "promotion_code.created",
        "promotion_code.updated",
    ]
    assert await event_types(database, "SAVE") == [
        "coupon.created",
        "coupon.updated",
        "coupon.updated",
        "coupon.deleted",
    ]


async def test_valid_follows_redeem_by(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    redeem_by = int(time.time()) + 3_600
    coupon = await post(client, merchant, "/v1/coupons", {"percent_off": 5, "redeem_by": redeem_by})
    assert coupon["valid"] is True
    with use_clock(FrozenClock(get_clock().now() + timedelta(hours=2))):
        later = await get(client, merchant, f"/v1/coupons/{coupon['id']}")
    assert later["valid"] is False


async def test_lists_page_newest_first_whatever_the_ids(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    ids = [
        (await post(client, merchant, "/v1/coupons", {"percent_off": 5, **chosen}))["id"]
        for chosen in ({"id": "ZZZ"}, {}, {"id": "AAA"}, {}, {"id": "MMM"})
    ]
    first = await get(client, merchant, "/v1/coupons", {"limit": 2})
    assert [item["id"] for item in first["data"]] == ids[:2:-1][:2]
    rest = await get(client, merchant, "/v1/coupons", {"starting_after": ids[3]})
    assert [item["id"] for item in rest["data"]] == [ids[2], ids[1], ids[0]]
    assert rest["has_more"] is False
    other = await make_merchant(database, name="Other")
    hidden = await get(client, other, "/v1/coupons", {"starting_after": "ZZZ"}, status=404)
    assert refused(hidden) == ("resource_missing", "starting_after")
    assert refused(await get(client, other, "/v1/coupons/ZZZ", status=404)) == (
        "resource_missing",
        "id",
    )
    reader = await make_merchant(database, name="Reader", restricted_scopes=("coupons:read",))
    await post(client, reader, "/v1/coupons", {"percent_off": 1}, key="rk_test", status=403)
    await get(client, reader, "/v1/promotion_codes", key="rk_test", status=403)


async def test_creations_are_idempotent(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    """A coupon's and a promotion code's generated id and code are the first answer's: a
    retry with the same key replays it instead of making another."""
    headers = {**merchant.auth(), "Idempotency-Key": "coupon-1"}
    first = await client.post("/v1/coupons", json={"percent_off": 5}, headers=headers)
    again = await client.post("/v1/coupons", json={"percent_off": 5}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    coupon = first.json()["id"]
    headers = {**merchant.auth(), "Idempotency-Key": "code-1"}
    params = {"promotion": {"type": "coupon", "coupon": coupon}}
    code = await client.post("/v1/promotion_codes", json=params, headers=headers)
    retried = await client.post("/v1/promotion_codes", json=params, headers=headers)
    assert retried.content == code.content
    assert retried.headers["idempotent-replayed"] == "true"
    assert len((await get(client, merchant, "/v1/coupons"))["data"]) == 1
    assert len((await get(client, merchant, "/v1/promotion_codes"))["data"]) == 1
