"""A payment link with a recurring price opens subscription-mode Checkout Sessions (Stripe's
behaviour): the visitor subscribes with a card, the link counts the completed session."""

from __future__ import annotations

import httpx

from tests.billing.invoices.support import ok
from tests.checkout.support import card, pay
from tests.payment_links.support import path_of, price, visit
from tests.payments.support import get, post
from tests.support import TestMerchant


async def test_a_recurring_link_opens_subscription_sessions_and_counts_them(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    monthly = await price(client, merchant, "Pro", 49_900, **{"recurring[interval]": "month"})
    seats = await price(client, merchant, "Seat", 10_000, **{"recurring[interval]": "month"})
    made = await ok(
        await post(
            client,
            merchant,
            "/v1/payment_links",
            **{
                "line_items[0][price]": monthly,
                "line_items[0][quantity]": "1",
                "line_items[1][price]": seats,
                "line_items[1][quantity]": "3",
                "restrictions[completed_sessions][limit]": "1",
            },
        )
    )
    items = await get(client, merchant, f"/v1/payment_links/{made['id']}/line_items")
    assert [i["price"]["recurring"]["interval"] for i in items["data"]] == ["month", "month"]
    opened = await visit(client, made)
    assert opened.status_code == 303
    page_path = httpx.URL(opened.headers["location"]).path
    sessions = await get(client, merchant, "/v1/checkout/sessions")
    (session,) = [s for s in sessions["data"] if s["payment_link"] == made["id"]]
    assert session["mode"] == "subscription" and session["payment_method_types"] == ["card"]
    assert session["amount_total"] == 49_900 + 3 * 10_000
    shown = await client.get(page_path)
    assert "/ month" in shown.text and "every month" in shown.text
    paid = await pay(client, page_path, **card("4242424242424242"))
    assert paid.status_code == 303 and "error" not in paid.headers["location"]
    done = await get(client, merchant, f"/v1/checkout/sessions/{session['id']}")
    assert (done["status"], done["payment_status"]) == ("complete", "paid")
    subscription = await get(client, merchant, f"/v1/subscriptions/{done['subscription']}")
    assert subscription["status"] == "active"
    assert {(i["price"]["id"], i["quantity"]) for i in subscription["items"]["data"]} == {
        (monthly, 1),
        (seats, 3),
    }
    assert subscription["default_payment_method"] is not None
    # Counted in the completing transaction: the link's limit of one is reached.
    counted = await get(client, merchant, f"/v1/payment_links/{made['id']}")
    assert counted["active"] is False
    assert (await client.get(path_of(made), follow_redirects=False)).status_code == 410
