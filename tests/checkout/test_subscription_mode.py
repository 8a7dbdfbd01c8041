"""Checkout Sessions in subscription mode: what a session takes and refuses (naming the
parameter), completion by a card on the page (an active subscription whose default payment
method is that card, ``checkout.session.completed`` in the paying transaction), the next
renewal charging the card off-session (a test clock), and the expiry of an unpaid session
ending the subscription it made (no open invoice left behind)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.checkout.service import expire_on
from beyondpay.db.session import Database
from tests.billing.invoices.support import customer, ok, run_invoice_jobs
from tests.billing.subscriptions.support import monthly_price
from tests.checkout.support import SUCCESS_URL, card, events_of, page, path_of, pay
from tests.payments.support import get, post
from tests.support import TestMerchant
from tests.test_clocks.support import advance, new_clock, run_advances

DAY_S = 86_400
SESSIONS = "/v1/checkout/sessions"


async def subscription_session(
    client: httpx.AsyncClient, merchant: TestMerchant, price_id: str, **extra: Any
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "subscription",
        "success_url": SUCCESS_URL,
        "line_items[0][price]": price_id,
        "line_items[0][quantity]": "1",
        **extra,
    }
    sent = {key: value for key, value in params.items() if value is not None}
    return await ok(await post(client, merchant, SESSIONS, **sent))


async def _refused(response: httpx.Response, param: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param, response.json()


async def test_a_subscription_session_takes_recurring_prices(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    price = await monthly_price(client, merchant, 49_900, "Pro")
    made = await subscription_session(
        client,
        merchant,
        price["id"],
        customer_email="asha@example.com",
        **{
            "line_items[1][price_data][currency]": "inr",
            "line_items[1][price_data][unit_amount]": "10000",
            "line_items[1][price_data][product_data][name]": "Extra seat",
            "line_items[1][price_data][recurring][interval]": "month",
            "line_items[1][quantity]": "2",
            "subscription_data[metadata][plan]": "pro",
            "subscription_data[description]": "Pro plan",
        },
    )
    assert made["mode"] == "subscription" and made["status"] == "open"
    assert made["amount_total"] == 49_900 + 2 * 10_000
    assert made["payment_method_types"] == ["card"]
    assert made["subscription"] is None and made["invoice"] is None
    assert made["customer"] is None and made["customer_creation"] is None
    items = await get(client, merchant, f"{SESSIONS}/{made['id']}/line_items")
    recurring = [item["price"]["recurring"]["interval"] for item in items["data"]]
    assert recurring == ["month", "month"]


async def test_refusals_name_the_parameter(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    monthly = await monthly_price(client, merchant)
    yearly = await ok(
        await post(
            client,
            merchant,
            "/v1/prices",
            currency="inr",
            unit_amount=999_000,
            **{"product_data[name]": "Pro yearly", "recurring[interval]": "year"},
        )
    )
    one_time = await ok(
        await post(
            client,
            merchant,
            "/v1/prices",
            currency="inr",
            unit_amount=5_000,
            **{"product_data[name]": "Setup fee"},
        )
    )
    base = {
        "mode": "subscription",
        "line_items[0][price]": monthly["id"],
        "line_items[0][quantity]": "1",
    }
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"line_items[1][price]": yearly["id"], "line_items[1][quantity]": "1"},
            "line_items[1][price]",
        ),
        (
            {"payment_method_types[0]": "card", "payment_method_types[1]": "upi"},
            "payment_method_types[1]",
        ),
        ({"payment_method_types[0]": "netbanking"}, "payment_method_types[0]"),
        ({"subscription_data[trial_period_days]": "7"}, "subscription_data[trial_period_days]"),
        ({"customer_creation": "always"}, "customer_creation"),
        # Billing's subscriptions take no coupon yet: refused, not charged in full.
        ({"allow_promotion_codes": "true"}, "allow_promotion_codes"),
        ({"discounts[0][coupon]": "FEST10"}, "discounts"),
    ]
    for extra, param in cases:
        await _refused(await post(client, merchant, SESSIONS, **base, **extra), param)
    only_one_time = {**base, "line_items[0][price]": one_time["id"]}
    await _refused(await post(client, merchant, SESSIONS, **only_one_time), "line_items")
    # A recurring price in payment mode, subscription_data in payment mode.
    payment = {**base, "mode": "payment"}
    await _refused(await post(client, merchant, SESSIONS, **payment), "line_items[0][price]")
    inline = {
        "mode": "payment",
        "line_items[0][price_data][currency]": "inr",
        "line_items[0][price_data][unit_amount]": "100",
        "line_items[0][price_data][product_data][name]": "X",
        "line_items[0][price_data][recurring][interval]": "month",
        "line_items[0][quantity]": "1",
    }
    await _refused(
        await post(client, merchant, SESSIONS, **inline),
        "line_items[0][price_data][recurring]",
    )
    await _refused(
        await post(
            client,
            merchant,
            SESSIONS,
            **{
                **inline,
                "mode": "subscription",
                "line_items[0][price_data][recurring][interval_count]": "13",
            },
        ),
        "line_items[0][price_data][recurring][interval_count]",
    )
    await _refused(
        await post(
            client,
            merchant,
            SESSIONS,
            **{
                **payment,
                "line_items[0][price]": one_time["id"],
                "subscription_data[description]": "x",
            },
        ),
        "subscription_data",
    )
    # Nothing was half-written: no session, no subscription.
    listed = await get(client, merchant, SESSIONS)
    assert listed["data"] == []
    assert (await get(client, merchant, "/v1/subscriptions", status="all"))["data"] == []


async def _subscription_of(
    client: httpx.AsyncClient, merchant: TestMerchant, session_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    done = await get(client, merchant, f"{SESSIONS}/{session_id}")
    subscription = await get(client, merchant, f"/v1/subscriptions/{done['subscription']}")
    return done, subscription


async def test_paid_by_card_it_completes_with_an_active_subscription_renewed_off_session(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    start = int(datetime(2027, 3, 1, 9, 0, tzinfo=UTC).timestamp())
    clock = await new_clock(client, merchant, start)
    buyer = await customer(client, merchant, card=None, test_clock=clock["id"])
    price = await monthly_price(client, merchant, 49_900, "Pro")
    made = await subscription_session(
        client,
        merchant,
        price["id"],
        customer=buyer["id"],
        **{"subscription_data[metadata][plan]": "pro", "subscription_data[description]": "Pro"},
    )
    response = await pay(client, path_of(made), **card("4242424242424242"))
    assert response.status_code == 303, response.text
    done, subscription = await _subscription_of(client, merchant, made["id"])
    assert (done["status"], done["payment_status"]) == ("complete", "paid")
    assert done["customer"] == buyer["id"] and done["invoice"] == subscription["latest_invoice"]
    assert subscription["status"] == "active"
    assert subscription["metadata"] == {"plan": "pro", "checkout_session": made["id"]}
    assert subscription["description"] == "Pro"
    assert subscription["payment_settings"]["save_default_payment_method"] == "on_subscription"
    method = subscription["default_payment_method"]
    assert method is not None and method.startswith("pm_")
    invoice = await get(client, merchant, f"/v1/invoices/{done['invoice']}")
    assert invoice["status"] == "paid" and invoice["amount_paid"] == 49_900
    intent = await get(client, merchant, f"/v1/payment_intents/{done['payment_intent']}")
    assert intent["setup_future_usage"] == "off_session" and intent["payment_method"] == method
    saved = await get(client, merchant, f"/v1/payment_methods/{method}")
    assert saved["customer"] == buyer["id"]
    assert await events_of(database, made["id"]) == ["checkout.session.completed"]
    events = await get(client, merchant, "/v1/events", type="checkout.session.completed")
    assert events["data"][0]["data"]["object"]["subscription"] == subscription["id"]
    # Nothing charged twice by billing's collection job (default_incomplete: none was queued).
    await run_invoice_jobs(database)
    # The next period: the renewal charges the saved card off-session.
    await ok(await advance(client, merchant, clock["id"], start + 32 * DAY_S))
    await run_advances(database)
    await run_invoice_jobs(database)
    renewed = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
    assert renewed["status"] == "active"
    assert renewed["latest_invoice"] != subscription["latest_invoice"]
    renewal = await get(client, merchant, f"/v1/invoices/{renewed['latest_invoice']}")
    assert renewal["billing_reason"] == "subscription_cycle"
    assert renewal["status"] == "paid" and renewal["amount_paid"] == 49_900
    async with database.unit_of_work() as db:
        charged = (
            await db.execute(
                text(
                    "SELECT c.payment_method_id, i.off_session FROM charges c"
                    " JOIN payment_intents i ON i.id = c.payment_intent_id"
                    " WHERE i.owner = :invoice AND c.status = 'succeeded'"
                ),
                {"invoice": renewal["id"]},
            )
        ).all()
    assert [(row[0], row[1]) for row in charged] == [(method, True)]


async def test_without_a_customer_one_is_made_at_the_first_pay_attempt(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    price = await monthly_price(client, merchant)
    made = await subscription_session(client, merchant, price["id"], customer_email="r@x.in")
    # A declined card: the subscription is made (incomplete), the session stays open.
    await pay(client, path_of(made), **card("4000000000000002"))
    declined, subscription = await _subscription_of(client, merchant, made["id"])
    assert declined["status"] == "open" and subscription["status"] == "incomplete"
    buyer = await get(client, merchant, f"/v1/customers/{declined['customer']}")
    assert buyer["email"] == "r@x.in"
    # Another card on the page: the same subscription and invoice, now paid.
    await pay(client, path_of(made), **card("4242424242424242"))
    done, active = await _subscription_of(client, merchant, made["id"])
    assert done["status"] == "complete" and active["id"] == subscription["id"]
    assert active["status"] == "active" and done["customer"] == declined["customer"]
    listed = await get(client, merchant, "/v1/subscriptions", status="all")
    assert [row["id"] for row in listed["data"]] == [subscription["id"]]
    by_subscription = await get(client, merchant, SESSIONS, subscription=subscription["id"])
    assert [row["id"] for row in by_subscription["data"]] == [made["id"]]


async def test_expiry_ends_the_subscription_it_made_and_voids_its_invoice(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    price = await monthly_price(client, merchant)
    made = await subscription_session(client, merchant, price["id"])
    await pay(client, path_of(made), **card("4000000000000002"))  # declined: made, unpaid
    opened = await get(client, merchant, f"{SESSIONS}/{made['id']}")
    expired = await ok(await post(client, merchant, f"{SESSIONS}/{made['id']}/expire"))
    assert expired["status"] == "expired"
    subscription = await get(client, merchant, f"/v1/subscriptions/{opened['subscription']}")
    assert subscription["status"] == "incomplete_expired"
    invoice = await get(client, merchant, f"/v1/invoices/{opened['invoice']}")
    assert invoice["status"] == "void"
    intent = await get(client, merchant, f"/v1/payment_intents/{opened['payment_intent']}")
    assert intent["status"] == "canceled"
    assert await events_of(database, made["id"]) == ["checkout.session.expired"]
    # The page can no longer pay it; the job finding it expired does nothing.
    _, csrf = await page(client, path_of(made))
    assert csrf == ""
    await expire_on(database, made["id"])
    # A session never paid has nothing to end.
    untouched = await subscription_session(client, merchant, price["id"])
    await expire_on(database, untouched["id"])  # the job at its expires_at
    gone = await get(client, merchant, f"{SESSIONS}/{untouched['id']}")
    assert gone["status"] == "expired" and gone["subscription"] is None
    assert (await get(client, merchant, "/v1/subscriptions", status="all"))["data"] == [
        subscription
    ]


async def test_three_d_secure_comes_back_to_the_page_and_subscribes(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    price = await monthly_price(client, merchant)
    made = await subscription_session(client, merchant, price["id"])
    path = path_of(made)
    challenged = await pay(client, path, **card("4000002500003155"))
    challenge = httpx.URL(challenged.headers["location"]).path
    assert challenge.startswith("/sandbox/3ds/")
    waiting, subscription = await _subscription_of(client, merchant, made["id"])
    assert waiting["status"] == "open" and subscription["status"] == "incomplete"
    answered = await client.post(challenge, data={"outcome": "complete"})
    assert httpx.URL(answered.headers["location"]).path == path
    done, active = await _subscription_of(client, merchant, made["id"])
    assert (done["status"], done["payment_status"]) == ("complete", "paid")
    assert active["status"] == "active" and active["default_payment_method"] is not None
    shown = await client.get(path)
    assert "your subscription is active" in shown.text


async def test_a_forged_upi_post_is_refused_before_anything_is_made(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    price = await monthly_price(client, merchant)
    made = await subscription_session(client, merchant, price["id"])
    refused = await pay(client, path_of(made), method="upi")
    assert "error=" in refused.headers["location"]
    after = await get(client, merchant, f"{SESSIONS}/{made['id']}")
    assert after["subscription"] is None and after["customer"] is None


async def test_a_one_time_price_is_billed_on_the_first_invoice_only(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    start = int(datetime(2027, 5, 3, 9, 0, tzinfo=UTC).timestamp())
    clock = await new_clock(client, merchant, start)
    buyer = await customer(client, merchant, card=None, test_clock=clock["id"])
    price = await monthly_price(client, merchant, 49_900, "Pro")
    made = await subscription_session(
        client,
        merchant,
        price["id"],
        customer=buyer["id"],
        **{
            "line_items[1][price_data][currency]": "inr",
            "line_items[1][price_data][unit_amount]": "20000",
            "line_items[1][price_data][product_data][name]": "Setup fee",
            "line_items[1][quantity]": "1",
        },
    )
    assert made["amount_total"] == 49_900 + 20_000
    shown = (await client.get(path_of(made))).text
    assert "Then ₹499.00 every month" in shown and "₹699.00" in shown
    await pay(client, path_of(made), **card("4242424242424242"))
    done, subscription = await _subscription_of(client, merchant, made["id"])
    assert done["status"] == "complete" and subscription["status"] == "active"
    assert [item["price"]["id"] for item in subscription["items"]["data"]] == [price["id"]]
    first = await get(client, merchant, f"/v1/invoices/{done['invoice']}")
    assert first["amount_paid"] == 69_900
    assert sorted(line["amount"] for line in first["lines"]["data"]) == [20_000, 49_900]
    await ok(await advance(client, merchant, clock["id"], start + 32 * DAY_S))
    await run_advances(database)
    await run_invoice_jobs(database)
    renewed = await get(client, merchant, f"/v1/subscriptions/{subscription['id']}")
    renewal = await get(client, merchant, f"/v1/invoices/{renewed['latest_invoice']}")
    assert renewal["billing_reason"] == "subscription_cycle"
    assert renewal["status"] == "paid" and renewal["amount_paid"] == 49_900
