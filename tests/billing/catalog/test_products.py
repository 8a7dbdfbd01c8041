"""Products over HTTP: create (with a default price), retrieve, update, delete, list, search;
who may call; bad input named; idempotency; the events of each change."""

from __future__ import annotations

import httpx

from beyondpay.db.session import Database
from tests.billing.catalog.support import event_types, events_of, get, post, refused
from tests.support import TestMerchant, make_merchant

FORM = {"content-type": "application/x-www-form-urlencoded"}


async def test_create_retrieve_update_delete(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    created = await client.post(
        "/v1/products",
        content=(
            "name=Gold%20plan&description=Monthly%20support&hsn_sac=998314&images[0]="
            "https%3A%2F%2Fshop.example%2Fgold.png&marketing_features[0][name]=Priority"
            "&metadata[tier]=gold&shippable=false&statement_descriptor=GOLD%20PLAN"
            "&tax_code=txcd_10000000&unit_label=seat&url=https%3A%2F%2Fshop.example%2Fgold"
            "&package_dimensions[height]=1.5&package_dimensions[length]=2"
            "&package_dimensions[weight]=3&package_dimensions[width]=4"
        ),
        headers={**merchant.auth(), **FORM},
    )
    assert created.status_code == 200, created.text
    product = created.json()
    assert product["id"].startswith("prod_")
    assert product["object"] == "product"
    assert (product["name"], product["description"]) == ("Gold plan", "Monthly support")
    assert (product["hsn_sac"], product["type"]) == ("998314", "service")
    assert product["images"] == ["https://shop.example/gold.png"]
    assert product["marketing_features"] == [{"name": "Priority"}]
    assert product["package_dimensions"] == {"height": 1.5, "length": 2, "weight": 3, "width": 4}
    assert (product["active"], product["shippable"], product["livemode"]) == (True, False, False)
    assert (product["tax_code"], product["unit_label"]) == ("txcd_10000000", "seat")
    assert product["default_price"] is None
    assert product["created"] == product["updated"]

    assert await get(client, merchant, f"/v1/products/{product['id']}") == product

    updated = await post(
        client,
        merchant,
        f"/v1/products/{product['id']}",
        {"description": "", "metadata": {"tier": "", "level": "2"}, "images": "", "active": False},
    )
    assert updated["description"] is None
    assert updated["metadata"] == {"level": "2"}
    assert (updated["images"], updated["active"]) == ([], False)
    assert await post(client, merchant, f"/v1/products/{product['id']}", {"name": "Gold plan"}) == (
        updated
    )  # nothing changed: no event

    deleted = await client.delete(f"/v1/products/{product['id']}", headers=merchant.auth())
    assert deleted.json() == {"id": product["id"], "object": "product", "deleted": True}
    missing = await get(client, merchant, f"/v1/products/{product['id']}", status=404)
    assert refused(missing) == ("resource_missing", "id")

    events = await events_of(database, product["id"])
    assert [event["type"] for event in events] == [
        "product.created",
        "product.updated",
        "product.deleted",
    ]
    previous = events[1]["data"]["previous_attributes"]
    assert previous["description"] == "Monthly support"
    assert previous["metadata"] == {"level": None, "tier": "gold"}
    assert (previous["active"], previous["images"]) == (True, ["https://shop.example/gold.png"])
    assert events[2]["data"]["object"]["name"] == "Gold plan"  # the product as it was


async def test_a_product_made_with_its_default_price(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    product = await post(
        client,
        merchant,
        "/v1/products",
        {
            "name": "Rice, 5 kg",
            "hsn_sac": "1006",
            "default_price_data": {
                "currency": "INR",
                "unit_amount_decimal": "49900",
                "recurring": {"interval": "month", "interval_count": 3},
                "tax_behavior": "inclusive",
                "metadata": {"k": "v"},
            },
            "expand": ["default_price"],
        },
    )
    assert product["type"] == "good"  # an HSN code names a good
    price = product["default_price"]
    assert (price["object"], price["product"], price["currency"]) == ("price", product["id"], "inr")
    assert (price["unit_amount"], price["unit_amount_decimal"]) == (49_900, "49900")
    assert price["recurring"] == {
        "interval": "month",
        "interval_count": 3,
        "meter": None,
        "trial_period_days": None,
        "usage_type": "licensed",
    }
    assert (price["tax_behavior"], price["metadata"]) == ("inclusive", {"k": "v"})
    assert await event_types(database, product["id"]) == ["product.created"]
    assert await event_types(database, price["id"]) == ["price.created"]
    created = (await events_of(database, product["id"]))[0]["data"]["object"]
    assert created["default_price"] == price["id"]

    # A product with a price is archived, not deleted, as Stripe's.
    response = await client.delete(f"/v1/products/{product['id']}", headers=merchant.auth())
    assert response.status_code == 400
    assert refused(response.json()) == ("product_has_prices", None)
    # Its default price is not archived while it is the default.
    archived = await post(
        client, merchant, f"/v1/prices/{price['id']}", {"active": False}, status=400
    )
    assert refused(archived) == ("price_unchangeable", "active")
    other = await post(
        client,
        merchant,
        "/v1/prices",
        {"product": product["id"], "currency": "inr", "unit_amount": 1},
    )
    await post(client, merchant, f"/v1/products/{product['id']}", {"default_price": other["id"]})
    await post(client, merchant, f"/v1/prices/{price['id']}", {"active": False})
    refusal = await post(
        client,
        merchant,
        f"/v1/products/{product['id']}",
        {"default_price": price["id"]},
        status=400,
    )
    assert refused(refusal) == ("parameter_invalid", "default_price")
    unset = await post(client, merchant, f"/v1/products/{product['id']}", {"default_price": ""})
    assert unset["default_price"] is None


async def test_default_price_data_is_checked_as_a_price(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    cases = [
        ({"currency": "inr"}, ("parameter_missing", "default_price_data[unit_amount]")),
        (
            {"currency": "inr", "unit_amount": 1, "unit_amount_decimal": "1"},
            ("parameter_invalid", "default_price_data[unit_amount_decimal]"),
        ),
        (
            {
                "currency": "inr",
                "unit_amount": 1,
                "recurring": {"interval": "week", "interval_count": 53},
            },
            ("parameter_invalid", "default_price_data[recurring][interval_count]"),
        ),
        (
            {"currency": "xyz", "unit_amount": 1},
            ("parameter_invalid", "default_price_data[currency]"),
        ),
    ]
    for data, expected in cases:
        body = await post(
            client, merchant, "/v1/products", {"name": "P", "default_price_data": data}, status=400
        )
        assert refused(body) == expected, body
    listed = await get(client, merchant, "/v1/products")
    assert listed["data"] == []  # nothing half-written


async def test_chosen_ids(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    mine = await post(client, merchant, "/v1/products", {"id": "prod_basic", "name": "Basic"})
    assert mine["id"] == "prod_basic"
    again = await post(
        client, merchant, "/v1/products", {"id": "prod_basic", "name": "Again"}, status=400
    )
    assert refused(again) == ("resource_already_exists", "id")
    other = await make_merchant(database, name="Other")
    theirs = await post(client, other, "/v1/products", {"id": "prod_basic", "name": "Theirs"})
    assert theirs["name"] == "Theirs"
    assert (await get(client, merchant, "/v1/products/prod_basic"))["name"] == "Basic"
    live = await post(
        client, merchant, "/v1/products", {"id": "prod_basic", "name": "Live"}, key="sk_live"
    )
    assert live["livemode"] is True
    for bad in ("search", "a/b", "a b", "x" * 101):
        body = await post(client, merchant, "/v1/products", {"id": bad, "name": "N"}, status=400)
        assert refused(body)[1] == "id", bad


async def test_hsn_sac_is_checked(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    for bad in ("99831", "9983141", "998314000", "HSN1", "0010"):
        body = await post(
            client, merchant, "/v1/products", {"name": "P", "hsn_sac": bad}, status=400
        )
        assert refused(body) == ("parameter_invalid", "hsn_sac"), body
    contradicted = await post(
        client,
        merchant,
        "/v1/products",
        {"name": "P", "type": "good", "hsn_sac": "998314"},
        status=400,
    )
    assert refused(contradicted) == ("parameter_invalid", "hsn_sac")
    good = await post(client, merchant, "/v1/products", {"name": "P", "type": "good"})
    assert (good["type"], good["hsn_sac"]) == ("good", None)
    refusal = await post(
        client, merchant, f"/v1/products/{good['id']}", {"hsn_sac": "9983"}, status=400
    )
    assert refused(refusal) == ("parameter_invalid", "hsn_sac")
    coded = await post(client, merchant, f"/v1/products/{good['id']}", {"hsn_sac": "100630"})
    assert coded["hsn_sac"] == "100630"
    cleared = await post(client, merchant, f"/v1/products/{good['id']}", {"hsn_sac": ""})
    assert cleared["hsn_sac"] is None


async def test_bad_input_is_named(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    cases = [
        ({}, ("parameter_missing", "name")),
        ({"name": ""}, ("parameter_invalid_empty", "name")),
        ({"name": "P", "nickname": "x"}, ("parameter_unknown", "nickname")),
        ({"name": "P", "images": ["https://a.example/x.png"] * 9}, ("parameter_invalid", "images")),
        ({"name": "P", "images": ["ftp://a.example/x.png"]}, ("parameter_invalid", "images[0]")),
        (
            {"name": "P", "statement_descriptor": "<GOLD>"},
            ("parameter_invalid", "statement_descriptor"),
        ),
        ({"name": "P", "tax_code": "1234"}, ("parameter_invalid", "tax_code")),
        ({"name": "P", "url": "shop.example"}, ("parameter_invalid", "url")),
        ({"name": "P", "unit_label": "x" * 13}, ("parameter_invalid", "unit_label")),
        ({"name": "P", "type": "gift"}, ("parameter_invalid", "type")),
        (
            {"name": "P", "marketing_features": [{"name": "f"}] * 16},
            ("parameter_invalid", "marketing_features"),
        ),
        (
            {"name": "P", "package_dimensions": {"height": 1, "length": 1, "weight": 1}},
            ("parameter_missing", "package_dimensions[width]"),
        ),
    ]
    for params, expected in cases:
        body = await post(client, merchant, "/v1/products", params, status=400)
        assert refused(body) == expected, (params, body)
    product = await post(client, merchant, "/v1/products", {"name": "P"})
    for params, expected in [
        ({"name": ""}, ("parameter_invalid_empty", "name")),
        ({"type": "good"}, ("parameter_unknown", "type")),
        ({"default_price": "price_missing"}, ("resource_missing", "default_price")),
    ]:
        response = await client.post(
            f"/v1/products/{product['id']}", json=params, headers=merchant.auth()
        )
        assert response.status_code in (400, 404), response.text
        assert refused(response.json()) == expected, (params, response.text)


async def test_who_may_call(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    product = await post(client, merchant, "/v1/products", {"name": "P"})
    other = await make_merchant(database, name="Other")
    hidden = await get(client, other, f"/v1/products/{product['id']}", status=404)
    assert refused(hidden) == ("resource_missing", "id")
    await post(client, other, f"/v1/products/{product['id']}", {"name": "Mine"}, status=404)
    gone = await client.delete(f"/v1/products/{product['id']}", headers=other.auth())
    assert gone.status_code == 404
    assert (await get(client, other, "/v1/products"))["data"] == []
    await get(client, merchant, f"/v1/products/{product['id']}", key="sk_live", status=404)

    reader = await make_merchant(database, name="Reader", restricted_scopes=("products:read",))
    await post(client, reader, "/v1/products", {"name": "R"}, key="rk_test", status=403)
    assert (await get(client, reader, "/v1/products", key="rk_test"))["data"] == []
    pricer = await make_merchant(database, name="Pricer", restricted_scopes=("prices:write",))
    denied = await get(client, pricer, "/v1/products", key="rk_test", status=403)
    assert denied["error"]["type"] == "permission_error"
    await get(client, merchant, "/v1/products", key="pk_test", status=403)


async def test_lists_page_newest_first_whatever_the_ids(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    ids = []
    for index in range(7):
        chosen = {"id": f"zz_{index}"} if index % 2 else {"id": f"aa_{index}"} if index % 3 else {}
        params = {"name": f"P{index}", "shippable": index % 2 == 0, **chosen}
        if index == 5:
            params |= {"active": False, "url": "https://shop.example/5"}
        ids.append((await post(client, merchant, "/v1/products", params))["id"])
    newest_first = ids[::-1]
    first = await get(client, merchant, "/v1/products", {"limit": 3})
    assert [item["id"] for item in first["data"]] == newest_first[:3]
    assert first["has_more"] is True
    second = await get(
        client, merchant, "/v1/products", {"limit": 3, "starting_after": newest_first[2]}
    )
    assert [item["id"] for item in second["data"]] == newest_first[3:6]
    back = await get(
        client, merchant, "/v1/products", {"limit": 2, "ending_before": newest_first[3]}
    )
    assert [item["id"] for item in back["data"]] == newest_first[1:3]
    unknown = await get(
        client, merchant, "/v1/products", {"starting_after": "prod_nope"}, status=404
    )
    assert refused(unknown) == ("resource_missing", "starting_after")

    def listed(body: dict[str, object]) -> list[str]:
        return [item["id"] for item in body["data"]]  # type: ignore[attr-defined,index]

    assert listed(await get(client, merchant, "/v1/products", {"active": "false"})) == [ids[5]]
    assert listed(await get(client, merchant, "/v1/products", {"shippable": "true"})) == [
        ids[6],
        ids[4],
        ids[2],
        ids[0],
    ]
    assert listed(
        await get(client, merchant, "/v1/products", {"ids[0]": ids[1], "ids[1]": ids[4]})
    ) == [ids[4], ids[1]]
    assert listed(
        await get(client, merchant, "/v1/products", {"url": "https://shop.example/5"})
    ) == [ids[5]]
    assert listed(await get(client, merchant, "/v1/products", {"type": "good"})) == []


async def test_search(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    gold = await post(
        client,
        merchant,
        "/v1/products",
        {"name": "Gold Plan", "description": "Priority support", "metadata": {"tier": "gold"}},
    )
    silver = await post(
        client,
        merchant,
        "/v1/products",
        {"id": "silver", "name": "Silver Plan", "shippable": True, "url": "https://s.example"},
    )
    old = await post(client, merchant, "/v1/products", {"name": "Old", "active": False})
    other = await make_merchant(database, name="Other")
    await post(client, other, "/v1/products", {"name": "Gold Plan"})

    async def found(query: str, **extra: object) -> list[str]:
        body = await get(client, merchant, "/v1/products/search", {"query": query, **extra})
        assert (body["object"], body["url"]) == ("search_result", "/v1/products/search")
        return [item["id"] for item in body["data"]]

    assert await found("name:'gold plan'") == [gold["id"]]
    assert await found("name~'plan'") == [silver["id"], gold["id"]]
    assert await found("active:'true'") == [silver["id"], gold["id"]]
    assert await found("active:'false'") == [old["id"]]
    assert await found("metadata['tier']:'gold'") == [gold["id"]]
    assert await found("description~'support'") == [gold["id"]]
    assert await found("shippable:'true' AND url:'https://s.example'") == [silver["id"]]
    assert await found("-name~'plan'") == [old["id"]]
    page = await get(client, merchant, "/v1/products/search", {"query": "created>0", "limit": 2})
    assert [item["id"] for item in page["data"]] == [old["id"], silver["id"]]
    assert page["has_more"] is True
    rest = await get(
        client,
        merchant,
        "/v1/products/search",
        {"query": "created>0", "limit": 2, "page": page["next_page"]},
    )
    assert [item["id"] for item in rest["data"]] == [gold["id"]]
    assert (rest["has_more"], rest["next_page"]) == (False, None)
    expanded = await get(
        client,
        merchant,
        "/v1/products/search",
        {"query": "name:'Silver Plan'", "expand[]": "data.default_price"},
    )
    assert expanded["data"][0]["default_price"] is None
    for query in ("price:'x'", "name:", "name~'ab'"):
        body = await get(client, merchant, "/v1/products/search", {"query": query}, status=400)
        assert refused(body) == ("search_query_invalid", "query"), query


async def test_a_create_is_idempotent(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    headers = {**merchant.auth(), "Idempotency-Key": "product-1"}
    first = await client.post("/v1/products", json={"name": "Gold"}, headers=headers)
    again = await client.post("/v1/products", json={"name": "Gold"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    other = await client.post("/v1/products", json={"name": "Silver"}, headers=headers)
    assert other.status_code == 400
    assert other.json()["error"]["type"] == "idempotency_error"
    assert len((await get(client, merchant, "/v1/products"))["data"]) == 1
