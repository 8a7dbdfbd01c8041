"""Checkout Sessions over the API (payment mode): create with prices and inline prices,
retrieve, list with its filters, line items, expire; the refusals that name their parameter;
completion by a card on the page with ``checkout.session.completed`` as Stripe renders it."""

from __future__ import annotations

import time
from typing import Any

import httpx

from beyondpay.db.session import Database
from tests.billing.invoices.support import ok
from tests.checkout.support import SUCCESS_URL, card, events_of, page, path_of, pay, session
from tests.payments.support import get, post
from tests.support import TestMerchant


async def _refused(response: httpx.Response, param: str, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["param"] == param, error
    return error


async def test_a_session_is_made_with_its_line_items_and_defaults(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    before = int(time.time())
    made = await session(client, merchant, client_reference_id="order-42", **{"metadata[o]": "1"})
    assert made["object"] == "checkout.session" and made["id"].startswith("cs_test_")
    assert made["status"] == "open" and made["payment_status"] == "unpaid"
    assert made["amount_subtotal"] == made["amount_total"] == 149_900 * 2 + 25_050
    assert made["currency"] == "inr" and made["mode"] == "payment"
    assert made["payment_intent"] is None  # made lazily, when the customer pays
    assert made["payment_method_types"] == ["card", "upi", "netbanking"]
    assert made["customer_creation"] == "if_required" and made["customer"] is None
    assert made["client_reference_id"] == "order-42" and made["metadata"] == {"o": "1"}
    assert before + 24 * 3600 - 5 <= made["expires_at"] <= before + 24 * 3600 + 5
    assert made["url"].startswith("http") and "/checkout/" in made["url"]
    assert made["success_url"] == SUCCESS_URL
    assert await get(client, merchant, f"/v1/checkout/sessions/{made['id']}") == made
    items = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}/line_items")
    assert items["object"] == "list" and not items["has_more"]
    assert [
        (i["description"], i["quantity"], i["amount_total"], i["price"]["unit_amount"])
        for i in items["data"]
    ] == [("Cotton kurta", 2, 299_800, 149_900), ("Gift wrap", 1, 25_050, 25_050)]
    assert all(i["object"] == "item" and not i["price"]["active"] for i in items["data"])
    first = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}/line_items", limit=1)
    assert first["has_more"] and len(first["data"]) == 1
    rest = await get(
        client,
        merchant,
        f"/v1/checkout/sessions/{made['id']}/line_items",
        starting_after=first["data"][0]["id"],
    )
    assert [i["description"] for i in rest["data"]] == ["Gift wrap"] and not rest["has_more"]


async def test_a_catalog_price_is_a_line_item(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    price = await ok(
        await post(
            client,
            merchant,
            "/v1/prices",
            currency="inr",
            unit_amount="99900",
            **{"product_data[name]": "Yoga mat"},
        )
    )
    made = await ok(
        await post(
            client,
            merchant,
            "/v1/checkout/sessions",
            mode="payment",
            success_url="https://shop.example/ok",
            **{"line_items[0][price]": price["id"], "line_items[0][quantity]": "3"},
            **{"payment_method_types[0]": "card"},
        )
    )
    assert made["amount_total"] == 299_700 and made["payment_method_types"] == ["card"]
    items = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}/line_items")
    assert items["data"][0]["price"]["id"] == price["id"]
    assert items["data"][0]["description"] == "Yoga mat"


async def test_bad_parameters_are_refused_naming_them(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    now = int(time.time())
    path = "/v1/checkout/sessions"
    line = {
        "line_items[0][price_data][currency]": "inr",
        "line_items[0][price_data][unit_amount]": "1000",
        "line_items[0][price_data][product_data][name]": "Tea",
        "line_items[0][quantity]": "1",
    }
    for expires_at in (now + 60, now + 25 * 3600):
        await _refused(
            await post(client, merchant, path, mode="payment", expires_at=str(expires_at), **line),
            "expires_at",
        )
    await _refused(await post(client, merchant, path, mode="payment"), "line_items")
    free = {**line, "line_items[0][price_data][unit_amount]": "0"}
    await _refused(await post(client, merchant, path, mode="payment", **free), "line_items")
    # Setup mode takes no line items (tests/checkout/test_setup_mode.py).
    await _refused(await post(client, merchant, path, mode="setup", **line), "line_items")
    await _refused(
        await post(client, merchant, path, mode="payment", **{**line, "line_items[0][price]": "x"}),
        "line_items[0][price]",
    )
    await _refused(
        await post(
            client, merchant, path, mode="payment", **line, **{"payment_method_types[0]": "cash"}
        ),
        "payment_method_types[0]",
    )
    await _refused(
        await post(client, merchant, path, mode="payment", **line, success_url="ftp://x"),
        "success_url",
    )
    await _refused(
        await post(
            client,
            merchant,
            path,
            mode="payment",
            **{**line, "line_items[1][price]": "price_missing", "line_items[1][quantity]": "1"},
        ),
        "line_items[1][price]",
        404,
    )
    usd = {**line, "line_items[0][price_data][currency]": "usd"}
    await _refused(
        await post(
            client, merchant, path, mode="payment", **usd, **{"payment_method_types[0]": "upi"}
        ),
        "payment_method_types[0]",
    )
    await _refused(
        await post(
            client,
            merchant,
            path,
            mode="payment",
            **line,
            customer="cus_x",
            customer_email="a@b.in",
        ),
        "customer_email",
    )
    ok_expiry = await session(client, merchant, expires_at=str(now + 3600))
    assert ok_expiry["expires_at"] == now + 3600
    assert (await get(client, merchant, "/v1/checkout/sessions", limit=100))["data"] == [
        ok_expiry
    ]  # nothing of the refused requests was written


async def test_expire_and_list_filters(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    first = await session(client, merchant)
    second = await session(client, merchant)
    _, csrf = await page(client, path_of(first))  # a tab opened before the session expired
    expired = await ok(await post(client, merchant, f"/v1/checkout/sessions/{first['id']}/expire"))
    assert expired["status"] == "expired" and expired["url"] is None
    again = await post(client, merchant, f"/v1/checkout/sessions/{first['id']}/expire")
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "checkout_session_not_open"
    assert await events_of(database, first["id"]) == ["checkout.session.expired"]
    listed = await get(client, merchant, "/v1/checkout/sessions", status="open")
    assert [s["id"] for s in listed["data"]] == [second["id"]]
    listed = await get(client, merchant, "/v1/checkout/sessions")
    assert [s["id"] for s in listed["data"]] == [second["id"], first["id"]]
    # The expired session's page refuses to pay.
    refused = await client.post(
        f"{path_of(first)}/pay", data={"csrf": csrf, **card("4242424242424242")}
    )
    assert refused.headers["location"].endswith("?error=expired")
    shown = await client.get(path_of(first))
    assert 'data-testid="expired"' in shown.text and "pay-card" not in shown.text
    missing = await client.get("/v1/checkout/sessions/cs_test_missing", headers=merchant.auth())
    assert missing.status_code == 404


async def test_paid_by_card_the_session_completes_with_its_event(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    made = await session(client, merchant, customer_email="asha@example.in")
    paid = await pay(client, path_of(made), **card("4242 4242 4242 4242"))
    assert paid.status_code == 303 and paid.headers["location"] == path_of(made)
    done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert done["status"] == "complete" and done["payment_status"] == "paid"
    assert done["url"] is None and done["payment_intent"].startswith("pi_")
    intent = await get(client, merchant, f"/v1/payment_intents/{done['payment_intent']}")
    assert intent["status"] == "succeeded" and intent["amount"] == made["amount_total"]
    by_intent = await get(
        client, merchant, "/v1/checkout/sessions", payment_intent=done["payment_intent"]
    )
    assert [s["id"] for s in by_intent["data"]] == [made["id"]]
    assert await events_of(database, made["id"]) == ["checkout.session.completed"]
    events = await get(client, merchant, "/v1/events", type="checkout.session.completed")
    rendered = events["data"][0]["data"]["object"]
    assert rendered == {**done, "url": None}
    page = await client.get(path_of(made))
    assert "https://shop.example/thanks?session=" + made["id"] in page.text
    assert 'http-equiv="refresh"' in page.text
    # Expiring a complete session is refused.
    refused = await post(client, merchant, f"/v1/checkout/sessions/{made['id']}/expire")
    assert refused.status_code == 400


async def test_customer_creation_always_makes_the_customer_at_completion(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    made = await session(
        client, merchant, customer_email="ravi@example.in", customer_creation="always"
    )
    assert made["customer"] is None and made["customer_creation"] == "always"
    await pay(client, path_of(made), **card("4242424242424242"))
    done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert done["customer"].startswith("cus_")
    customer = await get(client, merchant, f"/v1/customers/{done['customer']}")
    assert customer["email"] == "ravi@example.in"
    assert customer["metadata"] == {"checkout_session": made["id"]}
    by_customer = await get(client, merchant, "/v1/checkout/sessions", customer=done["customer"])
    assert [s["id"] for s in by_customer["data"]] == [made["id"]]
    # A session for a known customer takes no customer_creation.
    refused = await post(
        client,
        merchant,
        "/v1/checkout/sessions",
        mode="payment",
        customer=done["customer"],
        customer_creation="always",
        **{
            "line_items[0][price_data][currency]": "inr",
            "line_items[0][price_data][unit_amount]": "1000",
            "line_items[0][price_data][product_data][name]": "Tea",
            "line_items[0][quantity]": "1",
        },
    )
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "customer_creation"
