"""Subscription items written one at a time (/v1/subscription_items): added, changed and
removed, each prorated as a subscription update is; the last item stays."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx

from beyondpay.db.session import Database
from tests.billing.invoices.support import customer, ok, run_invoice_jobs
from tests.billing.subscriptions.support import monthly_price, subscribe
from tests.payments.support import get, post
from tests.support import TestMerchant
from tests.test_clocks.support import advance, new_clock, run_advances

DAY_S = 86_400
START = int(datetime(2027, 3, 3, 9, 0, tzinfo=UTC).timestamp())


async def test_items_are_added_changed_and_removed_with_prorations(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = await new_clock(client, merchant, START)
    buyer = await customer(client, merchant, test_clock=clock["id"])
    pro = await monthly_price(client, merchant)
    seats = await monthly_price(client, merchant, amount=10_000, name="Seat")
    subscription = await subscribe(client, merchant, buyer["id"], pro["id"])
    await run_invoice_jobs(database)
    await ok(await advance(client, merchant, clock["id"], START + 10 * DAY_S))
    await run_advances(database)
    added = await ok(
        await post(
            client,
            merchant,
            "/v1/subscription_items",
            subscription=subscription["id"],
            price=seats["id"],
            quantity=3,
            proration_behavior="always_invoice",
            **{"metadata[team]": "ops"},
        )
    )
    assert added["object"] == "subscription_item" and added["quantity"] == 3
    assert added["metadata"] == {"team": "ops"}
    current = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
    invoice = await get(client, merchant, f"/v1/invoices/{current['latest_invoice']}")
    (charge,) = invoice["lines"]["data"]
    assert charge["description"].startswith("Remaining time on 3 \N{MULTIPLICATION SIGN} Seat")
    again = await post(
        client,
        merchant,
        "/v1/subscription_items",
        subscription=subscription["id"],
        price=seats["id"],
    )
    assert again.status_code == 400 and again.json()["error"]["param"] == "price"
    missing = await post(
        client,
        merchant,
        "/v1/subscription_items",
        subscription=subscription["id"],
        price="price_nope",
    )
    assert missing.status_code in (400, 404) and missing.json()["error"]["param"] == "price"
    changed = await ok(
        await post(client, merchant, f"/v1/subscription_items/{added['id']}", quantity=5)
    )
    assert changed["quantity"] == 5
    pending = await get(client, merchant, "/v1/invoiceitems", customer=buyer["id"], pending="true")
    assert len(pending["data"]) == 2  # the credit for 3 seats, the charge for 5
    removed = await ok(
        await client.delete(
            f"/v1/subscription_items/{added['id']}",
            params={"proration_behavior": "none"},
            headers=merchant.auth(),
        )
    )
    assert removed == {"id": added["id"], "object": "subscription_item", "deleted": True}
    (last,) = (await get(client, merchant, f"/v1/subscriptions/{subscription['id']}"))["items"][
        "data"
    ]
    refused = await client.delete(f"/v1/subscription_items/{last['id']}", headers=merchant.auth())
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "id"
    gone = await client.get(f"/v1/subscription_items/{added['id']}", headers=merchant.auth())
    assert gone.status_code == 404


async def test_a_price_already_on_the_subscription_is_refused_naming_it(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant)
    pro = await monthly_price(client, merchant)
    subscription = await subscribe(client, merchant, buyer["id"], pro["id"], trial_period_days=7)
    path = f"/v1/subscriptions/{subscription['id']}"
    again = await post(client, merchant, path, **{"items[0][price]": pro["id"]})
    assert again.status_code == 400, again.text
    assert again.json()["error"]["param"] == "items[0][price]"


async def test_two_requests_racing_to_add_one_price_add_it_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    buyer = await customer(client, merchant)
    pro = await monthly_price(client, merchant)
    seats = await monthly_price(client, merchant, amount=10_000, name="Seat")
    subscription = await subscribe(client, merchant, buyer["id"], pro["id"], trial_period_days=7)
    body = {"subscription": subscription["id"], "price": seats["id"]}
    answers = await asyncio.gather(
        *(post(client, merchant, "/v1/subscription_items", **body) for _ in range(2))
    )
    assert sorted(answer.status_code for answer in answers) == [200, 400]
    (refused,) = (answer for answer in answers if answer.status_code == 400)
    assert refused.json()["error"]["param"] == "price"
    items = await get(client, merchant, "/v1/subscription_items", subscription=subscription["id"])
    assert [item["price"]["id"] for item in items["data"]] == [pro["id"], seats["id"]]
