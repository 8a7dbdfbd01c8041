"""Prices over HTTP: one-time and recurring, with a product or made with one; what may change
(and what may not); lookup keys unique among active prices and transferred; lists, search,
expansions; what invoices and subscriptions read (``price_service.billable``)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from beyondpay.billing.catalog.domain import Interval, TaxBehavior, UsageType
from beyondpay.billing.catalog.errors import PriceInactiveError
from beyondpay.billing.catalog.service import Recurrence, price_service
from beyondpay.db.session import Database
from tests.billing.catalog.support import caller_of, event_types, events_of, get, post, refused
from tests.support import TestMerchant, make_merchant


async def _product(client: httpx.AsyncClient, merchant: TestMerchant, **params: Any) -> str:
    return str((await post(client, merchant, "/v1/products", {"name": "Plan", **params}))["id"])


async def test_one_time_and_recurring_prices(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    product = await _product(client, merchant)
    created = await client.post(
        "/v1/prices",
        content=(
            f"product={product}&currency=INR&unit_amount=49900&nickname=Monthly"
            "&recurring[interval]=month&recurring[trial_period_days]=7&lookup_key=gold_monthly"
            "&metadata[plan]=gold&tax_behavior=exclusive"
        ),
        headers={**merchant.auth(), "content-type": "application/x-www-form-urlencoded"},
    )
    assert created.status_code == 200, created.text
    monthly = created.json()
    assert monthly["id"].startswith("price_")
    assert (monthly["object"], monthly["type"], monthly["currency"]) == (
        "price",
        "recurring",
        "inr",
    )
    assert monthly["recurring"] == {
        "interval": "month",
        "interval_count": 1,
        "meter": None,
        "trial_period_days": 7,
        "usage_type": "licensed",
    }
    assert (monthly["unit_amount"], monthly["unit_amount_decimal"]) == (49_900, "49900")
    assert (monthly["lookup_key"], monthly["nickname"]) == ("gold_monthly", "Monthly")
    assert (monthly["tax_behavior"], monthly["billing_scheme"]) == ("exclusive", "per_unit")
    assert monthly["metadata"] == {"plan": "gold"}
    for absent in ("currency_options", "custom_unit_amount", "tiers_mode", "transform_quantity"):
        assert monthly[absent] is None
    assert await get(client, merchant, f"/v1/prices/{monthly['id']}") == monthly

    once = await post(
        client,
        merchant,
        "/v1/prices",
        {"product": product, "currency": "usd", "unit_amount_decimal": "1500", "active": False},
    )
    assert (once["type"], once["recurring"], once["unit_amount"]) == ("one_time", None, 1_500)
    assert (once["tax_behavior"], once["active"]) == ("unspecified", False)
    free = await post(
        client, merchant, "/v1/prices", {"product": product, "currency": "jpy", "unit_amount": 0}
    )
    assert free["unit_amount"] == 0
    yearly = await post(
        client,
        merchant,
        "/v1/prices",
        {
            "product": product,
            "currency": "inr",
            "unit_amount": 499_000,
            "recurring": {"interval": "week", "interval_count": 52},
        },
    )
    assert yearly["recurring"]["interval_count"] == 52
    assert await event_types(database, monthly["id"]) == ["price.created"]


async def test_a_price_made_with_its_product(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    price = await post(
        client,
        merchant,
        "/v1/prices",
        {
            "currency": "inr",
            "unit_amount": 2_500,
            "product_data": {
                "name": "Consulting hour",
                "id": "consulting",
                "hsn_sac": "998311",
                "unit_label": "hour",
                "metadata": {"k": "v"},
                "statement_descriptor": "CONSULTING",
            },
            "expand": ["product"],
        },
    )
    product = price["product"]
    assert (product["id"], product["name"], product["hsn_sac"]) == (
        "consulting",
        "Consulting hour",
        "998311",
    )
    assert (product["type"], product["unit_label"], product["metadata"]) == (
        "service",
        "hour",
        {"k": "v"},
    )
    assert await event_types(database, "consulting") == ["product.created"]
    again = await post(
        client,
        merchant,
        "/v1/prices",
        {"currency": "inr", "unit_amount": 1, "product_data": {"name": "X", "id": "consulting"}},
        status=400,
    )
    assert refused(again) == ("resource_already_exists", "product_data[id]")
    bad = await post(
        client,
        merchant,
        "/v1/prices",
        {"currency": "inr", "unit_amount": 1, "product_data": {"name": "X", "hsn_sac": "12"}},
        status=400,
    )
    assert refused(bad) == ("parameter_invalid", "product_data[hsn_sac]")


async def test_bad_input_is_named(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    product = await _product(client, merchant)
    base = {"product": product, "currency": "inr", "unit_amount": 100}
    cases: list[tuple[dict[str, Any], int, tuple[str, str | None]]] = [
        ({**base, "currency": "xyz"}, 400, ("parameter_invalid", "currency")),
        ({"product": product, "currency": "inr"}, 400, ("parameter_missing", "unit_amount")),
        (
            {**base, "unit_amount_decimal": "100"},
            400,
            ("parameter_invalid", "unit_amount_decimal"),
        ),
        (
            {"product": product, "currency": "inr", "unit_amount_decimal": "99.5"},
            400,
            ("parameter_invalid", "unit_amount_decimal"),
        ),
        ({**base, "unit_amount": -1}, 400, ("parameter_invalid", "unit_amount")),
        ({**base, "unit_amount": 10**14}, 400, ("parameter_invalid", "unit_amount")),
        ({"currency": "inr", "unit_amount": 1}, 400, ("parameter_invalid", "product")),
        (
            {**base, "product_data": {"name": "X"}},
            400,
            ("parameter_invalid", "product_data"),
        ),
        ({**base, "product": "prod_missing"}, 404, ("resource_missing", "product")),
        ({**base, "billing_scheme": "tiered"}, 400, ("parameter_invalid", "billing_scheme")),
        ({**base, "tiers": [{"up_to": "inf"}]}, 400, ("parameter_unknown", "tiers")),
        (
            {**base, "recurring": {"interval": "month", "interval_count": 13}},
            400,
            ("parameter_invalid", "recurring[interval_count]"),
        ),
        (
            {**base, "recurring": {"interval": "year", "interval_count": 2}},
            400,
            ("parameter_invalid", "recurring[interval_count]"),
        ),
        (
            {**base, "recurring": {"interval": "day", "interval_count": 366}},
            400,
            ("parameter_invalid", "recurring[interval_count]"),
        ),
        (
            {**base, "recurring": {"interval": "fortnight"}},
            400,
            ("parameter_invalid", "recurring[interval]"),
        ),
        (
            {**base, "recurring": {"interval": "month", "usage_type": "metered"}},
            400,
            ("parameter_invalid", "recurring[usage_type]"),
        ),
        (
            {**base, "recurring": {"interval": "month", "trial_period_days": 731}},
            400,
            ("parameter_invalid", "recurring[trial_period_days]"),
        ),
        ({**base, "tax_behavior": "both"}, 400, ("parameter_invalid", "tax_behavior")),
        ({**base, "lookup_key": "k" * 201}, 400, ("parameter_invalid", "lookup_key")),
    ]
    for params, status, expected in cases:
        body = await post(client, merchant, "/v1/prices", params, status=status)
        assert refused(body) == expected, (params, body)
    tiered = await post(
        client, merchant, "/v1/prices", {**base, "billing_scheme": "tiered"}, status=400
    )
    assert "tiers may wait" in tiered["error"]["message"]
    metered = await post(
        client,
        merchant,
        "/v1/prices",
        {**base, "recurring": {"interval": "month", "usage_type": "metered"}},
        status=400,
    )
    assert "metered prices" in metered["error"]["message"]
    assert (await get(client, merchant, "/v1/prices"))["data"] == []


async def test_what_may_change(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    product = await _product(client, merchant)
    price = await post(
        client, merchant, "/v1/prices", {"product": product, "currency": "inr", "unit_amount": 100}
    )
    path = f"/v1/prices/{price['id']}"
    for params in ({"unit_amount": 200}, {"currency": "usd"}, {"recurring": {"interval": "day"}}):
        body = await post(client, merchant, path, params, status=400)
        assert refused(body)[0] == "parameter_unknown", params
    updated = await post(
        client,
        merchant,
        path,
        {"nickname": "Intro", "metadata": {"a": "1"}, "tax_behavior": "inclusive"},
    )
    assert (updated["nickname"], updated["metadata"], updated["tax_behavior"]) == (
        "Intro",
        {"a": "1"},
        "inclusive",
    )
    for behavior in ("exclusive", "unspecified"):
        body = await post(client, merchant, path, {"tax_behavior": behavior}, status=400)
        assert refused(body) == ("price_unchangeable", "tax_behavior")
    assert (await post(client, merchant, path, {"tax_behavior": "inclusive"}))["tax_behavior"] == (
        "inclusive"
    )
    cleared = await post(client, merchant, path, {"nickname": ""})
    assert cleared["nickname"] is None
    archived = await post(client, merchant, path, {"active": False})
    assert archived["active"] is False
    events = await events_of(database, price["id"])
    assert [event["type"] for event in events] == [
        "price.created",
        "price.updated",
        "price.updated",
        "price.updated",
    ]
    assert events[1]["data"]["previous_attributes"] == {
        "nickname": None,
        "metadata": {"a": None},
        "tax_behavior": "unspecified",
    }


async def test_a_lookup_key_names_one_active_price(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    product = await _product(client, merchant)

    async def price(**params: Any) -> dict[str, Any]:
        return await post(
            client,
            merchant,
            "/v1/prices",
            {"product": product, "currency": "inr", "unit_amount": 100, **params},
        )

    first = await price(lookup_key="standard")
    taken = await post(
        client,
        merchant,
        "/v1/prices",
        {"product": product, "currency": "inr", "unit_amount": 200, "lookup_key": "standard"},
        status=400,
    )
    assert refused(taken) == ("lookup_key_in_use", "lookup_key")
    second = await price(lookup_key="standard", transfer_lookup_key=True)
    assert second["lookup_key"] == "standard"
    moved = await get(client, merchant, f"/v1/prices/{first['id']}")
    assert moved["lookup_key"] is None
    events = await events_of(database, first["id"])
    assert events[-1]["type"] == "price.updated"
    assert events[-1]["data"]["previous_attributes"] == {"lookup_key": "standard"}
    # Another merchant, or the other mode, has its own keys.
    other = await make_merchant(database, name="Other")
    other_product = await _product(client, other)
    await post(
        client,
        other,
        "/v1/prices",
        {"product": other_product, "currency": "inr", "unit_amount": 1, "lookup_key": "standard"},
    )
    # An archived price holds no key: it can be given to another, and taken back.
    await post(client, merchant, f"/v1/prices/{second['id']}", {"active": False})
    third = await price(lookup_key="standard")
    restore = await post(
        client, merchant, f"/v1/prices/{second['id']}", {"active": True}, status=400
    )
    assert refused(restore) == ("lookup_key_in_use", "active")
    restated = await post(
        client,
        merchant,
        f"/v1/prices/{second['id']}",
        {"active": True, "lookup_key": "standard"},
        status=400,
    )
    assert refused(restated) == ("lookup_key_in_use", "lookup_key")
    restored = await post(
        client,
        merchant,
        f"/v1/prices/{second['id']}",
        {"active": True, "lookup_key": "standard", "transfer_lookup_key": True},
    )
    assert (restored["active"], restored["lookup_key"]) == (True, "standard")
    assert (await get(client, merchant, f"/v1/prices/{third['id']}"))["lookup_key"] is None
    # By update, too.
    renamed = await post(client, merchant, f"/v1/prices/{third['id']}", {"lookup_key": "basic"})
    assert renamed["lookup_key"] == "basic"
    refusal = await post(
        client, merchant, f"/v1/prices/{third['id']}", {"lookup_key": "standard"}, status=400
    )
    assert refused(refusal) == ("lookup_key_in_use", "lookup_key")
    # A price refused after its product was made leaves neither, nor their events.
    refused_with_product = await post(
        client,
        merchant,
        "/v1/prices",
        {
            "currency": "inr",
            "unit_amount": 1,
            "lookup_key": "standard",
            "product_data": {"name": "Half", "id": "prod_half"},
        },
        status=400,
    )
    assert refused(refused_with_product) == ("lookup_key_in_use", "lookup_key")
    await get(client, merchant, "/v1/products/prod_half", status=404)
    assert await event_types(database, "prod_half") == []
    listed = await get(client, merchant, "/v1/prices", {"lookup_keys[0]": "standard"})
    assert [item["id"] for item in listed["data"]] == [second["id"]]
    removed = await post(client, merchant, f"/v1/prices/{third['id']}", {"lookup_key": ""})
    assert removed["lookup_key"] is None


async def test_lists_and_search(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    gold = await _product(client, merchant, name="Gold")
    silver = await _product(client, merchant, name="Silver")
    made = []
    for product, currency, recurring, key in (
        (gold, "inr", {"interval": "month"}, "gold_m"),
        (gold, "inr", {"interval": "year"}, "gold_y"),
        (silver, "usd", None, None),
        (silver, "inr", {"interval": "month"}, "silver_m"),
    ):
        params: dict[str, Any] = {"product": product, "currency": currency, "unit_amount": 100}
        if recurring is not None:
            params["recurring"] = recurring
        if key is not None:
            params["lookup_key"] = key
        made.append((await post(client, merchant, "/v1/prices", params))["id"])
    archived = (
        await post(
            client,
            merchant,
            "/v1/prices",
            {"product": gold, "currency": "inr", "unit_amount": 1, "active": False},
        )
    )["id"]
    other = await make_merchant(database, name="Other")
    await post(
        client,
        other,
        "/v1/prices",
        {"currency": "inr", "unit_amount": 1, "product_data": {"name": "Theirs"}},
    )

    async def listed(**params: Any) -> list[str]:
        body = await get(client, merchant, "/v1/prices", params)
        return [item["id"] for item in body["data"]]

    assert await listed() == made[::-1]  # active prices only, as Stripe lists them
    assert await listed(active="false") == [archived]
    assert await listed(product=gold) == [made[1], made[0]]
    assert await listed(currency="USD") == [made[2]]
    assert await listed(type="one_time") == [made[2]]
    assert await listed(**{"recurring[interval]": "month"}) == [made[3], made[0]]
    assert await listed(**{"lookup_keys[0]": "gold_y", "lookup_keys[1]": "silver_m"}) == [
        made[3],
        made[1],
    ]
    assert await listed(limit=2, starting_after=made[3]) == [made[2], made[1]]
    expanded = await get(client, merchant, "/v1/prices", {"expand[]": "data.product", "limit": 1})
    assert expanded["data"][0]["product"]["name"] == "Silver"
    wrong = await get(client, merchant, "/v1/prices", {"expand[]": "product"}, status=400)
    assert refused(wrong) == ("parameter_invalid", "expand[0]")

    async def found(query: str) -> list[str]:
        body = await get(client, merchant, "/v1/prices/search", {"query": query})
        assert body["object"] == "search_result"
        return [item["id"] for item in body["data"]]

    assert await found(f"product:'{gold}'") == [archived, made[1], made[0]]
    assert await found(f"product:'{gold}' AND active:'true'") == [made[1], made[0]]
    assert await found("currency:'USD'") == [made[2]]
    assert await found("type:'one_time' AND active:'true'") == [made[2]]
    assert await found("lookup_key:'gold_m'") == [made[0]]
    assert await found("lookup_key~'gold'") == [made[1], made[0]]
    page = await get(client, merchant, "/v1/prices/search", {"query": "active:'true'", "limit": 3})
    assert page["has_more"] is True
    rest = await get(
        client,
        merchant,
        "/v1/prices/search",
        {"query": "active:'true'", "limit": 3, "page": page["next_page"]},
    )
    assert [item["id"] for item in rest["data"]] == [made[0]]


async def test_who_may_call(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    product = await _product(client, merchant)
    price = await post(
        client, merchant, "/v1/prices", {"product": product, "currency": "inr", "unit_amount": 1}
    )
    other = await make_merchant(database, name="Other")
    assert refused(await get(client, other, f"/v1/prices/{price['id']}", status=404)) == (
        "resource_missing",
        "id",
    )
    theirs = await post(
        client,
        other,
        "/v1/prices",
        {"product": product, "currency": "inr", "unit_amount": 1},
        status=404,
    )
    assert refused(theirs) == ("resource_missing", "product")
    reader = await make_merchant(database, name="Reader", restricted_scopes=("prices:read",))
    await post(
        client,
        reader,
        "/v1/prices",
        {"currency": "inr", "unit_amount": 1, "product_data": {"name": "X"}},
        key="rk_test",
        status=403,
    )
    assert (await get(client, reader, "/v1/prices", key="rk_test"))["data"] == []
    await get(client, reader, "/v1/products", key="rk_test", status=403)


async def test_billable_is_what_an_invoice_line_takes(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    price = await post(
        client,
        merchant,
        "/v1/prices",
        {
            "currency": "inr",
            "unit_amount": 49_900,
            "tax_behavior": "inclusive",
            "recurring": {"interval": "month", "interval_count": 3, "trial_period_days": 7},
            "product_data": {"name": "Gold", "hsn_sac": "998314", "unit_label": "seat"},
        },
    )
    caller = caller_of(merchant)
    async with database.unit_of_work() as session:
        billable = await price_service.billable(session, caller, price["id"])
    assert (billable.price_id, billable.product_id) == (price["id"], price["product"])
    assert (billable.product_name, billable.hsn_sac, billable.product_type) == (
        "Gold",
        "998314",
        "service",
    )
    assert (billable.unit_label, billable.currency, billable.unit_amount) == ("seat", "inr", 49_900)
    assert billable.tax_behavior is TaxBehavior.inclusive
    assert billable.recurring == Recurrence(Interval.month, 3, 7, UsageType.licensed)

    await post(client, merchant, f"/v1/products/{price['product']}", {"active": False})
    async with database.unit_of_work() as session:
        with pytest.raises(PriceInactiveError) as archived_product:
            await price_service.billable(session, caller, price["id"], param="items[0][price]")
    assert archived_product.value.param == "items[0][price]"
    await post(client, merchant, f"/v1/products/{price['product']}", {"active": True})
    await post(client, merchant, f"/v1/prices/{price['id']}", {"active": False})
    async with database.unit_of_work() as session:
        with pytest.raises(PriceInactiveError):
            await price_service.billable(session, caller, price["id"])
