"""Payment links over the API: create, retrieve, update, list, line items; the refusals that
name their parameter; idempotent creation; a visit opening a new session each time, with the
link's items and ``payment_link``; completion counted and the limit deactivating the link;
``active=false`` refusing visits; the hosted confirmation page."""

from __future__ import annotations

from typing import Any

import httpx

from beyondpay.db.session import Database
from tests.billing.invoices.support import events_of, ok
from tests.checkout.support import card, pay
from tests.payment_links.support import link, path_of, price, visit
from tests.payments.support import get, post
from tests.support import TestMerchant


def _refused(response: httpx.Response, param: str, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["param"] == param, error
    return error


async def test_a_link_is_made_retrieved_and_listed_in_stripes_shape(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    made = await link(client, merchant, **{"metadata[campaign]": "diwali"})
    assert made["object"] == "payment_link" and made["id"].startswith("plink_")
    assert made["active"] is True and made["currency"] == "inr" and not made["livemode"]
    assert made["url"].startswith("http") and "/l/test_" in made["url"]
    assert made["after_completion"] == {
        "type": "hosted_confirmation",
        "redirect": None,
        "hosted_confirmation": {"custom_message": None},
    }
    assert made["restrictions"] is None and made["payment_method_types"] is None
    assert made["metadata"] == {"campaign": "diwali"}
    assert await get(client, merchant, f"/v1/payment_links/{made['id']}") == made
    items = await get(client, merchant, f"/v1/payment_links/{made['id']}/line_items")
    assert [(i["description"], i["quantity"], i["amount_total"]) for i in items["data"]] == [
        ("Cotton kurta", 2, 299_800),
        ("Gift wrap", 1, 25_050),
    ]
    assert all(i["object"] == "item" and i["price"]["active"] for i in items["data"])
    first = await get(client, merchant, f"/v1/payment_links/{made['id']}/line_items", limit=1)
    assert first["has_more"] and len(first["data"]) == 1
    assert await events_of(database, made["id"]) == ["payment_link.created"]
    other = await link(client, merchant)
    await ok(await post(client, merchant, f"/v1/payment_links/{other['id']}", active="false"))
    listed = await get(client, merchant, "/v1/payment_links")
    assert [found["id"] for found in listed["data"][:2]] == [other["id"], made["id"]]
    active = await get(client, merchant, "/v1/payment_links", active="true")
    assert other["id"] not in [found["id"] for found in active["data"]]
    inactive = await get(client, merchant, "/v1/payment_links", active="false")
    assert [found["id"] for found in inactive["data"]] == [other["id"]]


async def test_creation_is_idempotent(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    one = await price(client, merchant, "Tea", 50_000)
    headers = {**merchant.auth(), "Idempotency-Key": "plink-1"}
    body = {"line_items[0][price]": one, "line_items[0][quantity]": "1"}
    first = await client.post("/v1/payment_links", data=body, headers=headers)
    again = await client.post("/v1/payment_links", data=body, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    listed = await get(client, merchant, "/v1/payment_links")
    assert [found["id"] for found in listed["data"]].count(first.json()["id"]) == 1


async def test_bad_links_are_refused_naming_the_parameter(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    inr = await price(client, merchant, "Tea", 50_000)
    usd = await price(client, merchant, "Mug", 1_500, currency="usd")
    monthly = await price(client, merchant, "Plan", 9_900, **{"recurring[interval]": "month"})
    free = await price(client, merchant, "Sticker", 0)
    archived = await price(client, merchant, "Old", 100)
    await ok(await post(client, merchant, f"/v1/prices/{archived}", active="false"))

    async def create(**params: Any) -> httpx.Response:
        return await post(client, merchant, "/v1/payment_links", **params)

    line = {"line_items[0][price]": inr, "line_items[0][quantity]": "1"}
    _refused(await create(), "line_items")
    _refused(
        await create(**{"line_items[0][price]": "price_nope", "line_items[0][quantity]": "1"}),
        "line_items[0][price]",
        404,
    )
    _refused(
        await create(**{"line_items[0][price]": archived, "line_items[0][quantity]": "1"}),
        "line_items[0][price]",
    )
    # Recurring prices of two intervals (one subscription has one cycle).
    yearly = await price(client, merchant, "Plan", 99_000, **{"recurring[interval]": "year"})
    _refused(
        await create(
            **{
                "line_items[0][price]": monthly,
                "line_items[0][quantity]": "1",
                "line_items[1][price]": yearly,
                "line_items[1][quantity]": "1",
            }
        ),
        "line_items[1][price]",
    )
    # A subscription is charged again off-session: only a card can be.
    _refused(
        await create(
            **{
                "line_items[0][price]": monthly,
                "line_items[0][quantity]": "1",
                "payment_method_types[0]": "upi",
            }
        ),
        "payment_method_types[0]",
    )
    _refused(
        await create(**line, **{"line_items[1][price]": usd, "line_items[1][quantity]": "1"}),
        "line_items[1][price]",
    )
    _refused(
        await create(**{"line_items[0][price]": free, "line_items[0][quantity]": "1"}),
        "line_items",
    )
    _refused(
        await create(**{"line_items[0][price]": inr, "line_items[0][quantity]": "0"}),
        "line_items[0][quantity]",
    )
    _refused(
        await create(**line, **{"restrictions[completed_sessions][limit]": "0"}),
        "restrictions[completed_sessions][limit]",
    )
    _refused(
        await create(**line, **{"after_completion[type]": "redirect"}), "after_completion[redirect]"
    )
    _refused(
        await create(
            **line,
            **{"after_completion[type]": "redirect", "after_completion[redirect][url]": "ftp://x"},
        ),
        "after_completion[redirect][url]",
    )
    _refused(
        await create(**line, **{"payment_method_types[0]": "bitcoin"}), "payment_method_types[0]"
    )
    _refused(
        await create(**line, **{"payment_method_types[0]": "upi"}), "payment_method_types[0]"
    ) if False else None
    missing = await get_missing(client, merchant)
    assert missing["error"]["param"] == "id"


async def get_missing(client: httpx.AsyncClient, merchant: TestMerchant) -> dict[str, Any]:
    response = await client.get("/v1/payment_links/plink_nope", headers=merchant.auth())
    assert response.status_code == 404, response.text
    found: dict[str, Any] = response.json()
    return found


async def test_updates_change_what_they_name_and_record_it(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    made = await link(client, merchant)
    url = f"/v1/payment_links/{made['id']}"
    items = await get(client, merchant, f"{url}/line_items")
    wrap_id = items["data"][1]["id"]
    updated = await ok(
        await post(
            client,
            merchant,
            url,
            **{
                "line_items[0][id]": wrap_id,
                "line_items[0][quantity]": "3",
                "restrictions[completed_sessions][limit]": "5",
                "after_completion[type]": "redirect",
                "after_completion[redirect][url]": "https://shop.example/thanks",
                "metadata[a]": "1",
            },
        )
    )
    assert updated["restrictions"] == {"completed_sessions": {"count": 0, "limit": 5}}
    assert updated["after_completion"]["redirect"] == {"url": "https://shop.example/thanks"}
    assert updated["after_completion"]["hosted_confirmation"] is None
    assert updated["metadata"] == {"a": "1"} and updated["url"] == made["url"]
    items = await get(client, merchant, f"{url}/line_items")
    assert [i["quantity"] for i in items["data"]] == [2, 3]
    cleared = await ok(await post(client, merchant, url, restrictions=""))
    assert cleared["restrictions"] is None
    _refused(
        await post(
            client,
            merchant,
            url,
            **{"line_items[0][id]": "li_nope", "line_items[0][quantity]": "1"},
        ),
        "line_items[0][id]",
        404,
    )
    _refused(await post(client, merchant, url, active="maybe"), "active")
    same = await ok(await post(client, merchant, url, **{"metadata[a]": "1"}))
    assert same == cleared
    assert await events_of(database, made["id"]) == [
        "payment_link.created",
        "payment_link.updated",
        "payment_link.updated",
    ]


async def test_each_visit_opens_a_new_session_with_the_links_items(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    made = await link(client, merchant, **{"payment_method_types[0]": "card"})
    first, second = await visit(client, made), await visit(client, made)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] != second.headers["location"]
    assert "/checkout/" in first.headers["location"]
    assert first.headers["cache-control"] == "no-store"
    sessions = await get(client, merchant, "/v1/checkout/sessions")
    opened = [s for s in sessions["data"] if s["payment_link"] == made["id"]]
    assert len(opened) == 2
    assert {s["amount_total"] for s in opened} == {149_900 * 2 + 25_050}
    assert {tuple(s["payment_method_types"]) for s in opened} == {("card",)}
    assert all(s["success_url"].endswith("?session={CHECKOUT_SESSION_ID}") for s in opened)
    unknown = await client.get("/l/test_unknown", follow_redirects=False)
    assert unknown.status_code == 404


async def test_an_inactive_link_opens_nothing(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    made = await link(client, merchant)
    await ok(await post(client, merchant, f"/v1/payment_links/{made['id']}", active="false"))
    before = await get(client, merchant, "/v1/checkout/sessions")
    refused = await visit(client, made)
    assert refused.status_code == 410
    assert "This link is no longer available" in refused.text
    assert await get(client, merchant, "/v1/checkout/sessions") == before
    await ok(await post(client, merchant, f"/v1/payment_links/{made['id']}", active="true"))
    assert (await visit(client, made)).status_code == 303


async def _pay_once(client: httpx.AsyncClient, made: dict[str, Any]) -> str:
    opened = await visit(client, made)
    assert opened.status_code == 303, opened.text
    path = httpx.URL(opened.headers["location"]).path
    paid = await pay(client, path, **card("4242424242424242"))
    assert paid.status_code == 303 and "error" not in paid.headers["location"]
    return path


async def test_the_limit_deactivates_the_link_and_the_confirmation_shows_the_message(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    made = await link(
        client,
        merchant,
        **{
            "restrictions[completed_sessions][limit]": "2",
            "after_completion[type]": "hosted_confirmation",
            "after_completion[hosted_confirmation][custom_message]": "Dhanyavaad! Ships Monday.",
        },
    )
    url = f"/v1/payment_links/{made['id']}"
    path = await _pay_once(client, made)
    page = await client.get(path)
    assert 'http-equiv="refresh"' in page.text and "/complete?session=cs_test_" in page.text
    sessions = await get(client, merchant, "/v1/checkout/sessions", status="complete")
    paid_id = sessions["data"][0]["id"]
    confirmation = await client.get(f"{path_of(made)}/complete", params={"session": paid_id})
    assert confirmation.status_code == 200 and "Dhanyavaad! Ships Monday." in confirmation.text
    foreign = await client.get(f"{path_of(made)}/complete", params={"session": "cs_test_x"})
    assert foreign.status_code == 404
    assert (await get(client, merchant, url))["restrictions"]["completed_sessions"]["count"] == 1
    await _pay_once(client, made)
    done = await get(client, merchant, url)
    assert done["active"] is False
    assert done["restrictions"] == {"completed_sessions": {"count": 2, "limit": 2}}
    assert (await visit(client, made)).status_code == 410
    _refused(await post(client, merchant, url, active="true"), "active")
    assert await events_of(database, made["id"]) == [
        "payment_link.created",
        "payment_link.updated",
    ]
    raised = await ok(
        await post(
            client, merchant, url, active="true", **{"restrictions[completed_sessions][limit]": "3"}
        )
    )
    assert raised["active"] is True
    assert (await visit(client, made)).status_code == 303


async def test_a_link_whose_price_was_archived_opens_nothing(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    made = await link(client, merchant)
    items = await get(client, merchant, f"/v1/payment_links/{made['id']}/line_items")
    archived = items["data"][0]["price"]["id"]
    await ok(await post(client, merchant, f"/v1/prices/{archived}", active="false"))
    before = await get(client, merchant, "/v1/checkout/sessions")
    refused = await visit(client, made)
    assert refused.status_code == 410 and "no longer available" in refused.text
    assert await get(client, merchant, "/v1/checkout/sessions") == before


async def test_a_limit_lowered_to_the_count_switches_the_link_off(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    made = await link(client, merchant)
    url = f"/v1/payment_links/{made['id']}"
    await _pay_once(client, made)
    lowered = await ok(
        await post(client, merchant, url, **{"restrictions[completed_sessions][limit]": "1"})
    )
    assert lowered["active"] is False
    assert lowered["restrictions"] == {"completed_sessions": {"count": 1, "limit": 1}}
    assert (await visit(client, made)).status_code == 410
    _refused(
        await post(
            client, merchant, url, active="true", **{"restrictions[completed_sessions][limit]": "1"}
        ),
        "active",
    )
    reopened = await ok(await post(client, merchant, url, active="true", restrictions=""))
    assert reopened["active"] is True and reopened["restrictions"] is None
