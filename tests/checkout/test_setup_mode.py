"""Checkout Sessions in setup mode (Stripe's ``mode=setup``): created with no line items and
amounts of 0, ``payment_status`` ``no_payment_required``; the refusals that name their
parameter; the page saving a card through a SetupIntent made when the customer first submits
(declined then good, 3-D Secure through its challenge), completing the session with
``checkout.session.completed`` in the SetupIntent's transaction; ``customer_creation=always``
and a given customer get the card attached; expiry cancels the open SetupIntent."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from beyondpay.checkout.service import expire_on
from beyondpay.db.session import Database
from beyondpay.kit.settings import Settings
from tests.checkout.support import (
    SUCCESS_URL,
    card,
    events_of,
    page,
    path_of,
    save,
    session,
    setup_session,
)
from tests.payments.support import get, post
from tests.support import TestMerchant, app_client

RACE_ROUNDS = 3
SLOW_CARD_MS = "300"


def _refused(response: httpx.Response, param: str, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["param"] == param, error
    return error


async def _count(database: Database, sql: str, **args: Any) -> int:
    from sqlalchemy import text

    async with database.unit_of_work() as db:
        return int((await db.execute(text(sql), args)).scalar_one())


async def test_a_setup_session_is_made_with_no_amount_and_no_line_items(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    made = await setup_session(
        client,
        merchant,
        client_reference_id="acct-7",
        **{
            "metadata[plan]": "gold",
            "setup_intent_data[description]": "Card for renewals",
            "setup_intent_data[metadata][crm]": "42",
            "payment_method_types[0]": "card",
        },
    )
    assert made["object"] == "checkout.session" and made["mode"] == "setup"
    assert made["status"] == "open" and made["payment_status"] == "no_payment_required"
    assert made["amount_subtotal"] == made["amount_total"] == 0
    assert made["currency"] == "inr" and made["payment_method_types"] == ["card"]
    assert made["setup_intent"] is None  # made lazily, when the customer submits a card
    assert made["payment_intent"] is None and made["customer_creation"] == "if_required"
    assert made["metadata"] == {"plan": "gold"} and made["client_reference_id"] == "acct-7"
    assert made["url"].startswith("http") and made["success_url"] == SUCCESS_URL
    assert await get(client, merchant, f"/v1/checkout/sessions/{made['id']}") == made
    items = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}/line_items")
    assert items["data"] == [] and not items["has_more"]
    # Without currency nor payment_method_types: inr and a card (Stripe requires currency).
    bare = await setup_session(client, merchant, currency=None)
    assert (bare["currency"], bare["payment_method_types"]) == ("inr", ["card"])
    await save(client, path_of(made), **card("4242424242424242"))
    done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    intent = await get(client, merchant, f"/v1/setup_intents/{done['setup_intent']}")
    assert intent["description"] == "Card for renewals" and intent["usage"] == "off_session"
    assert intent["metadata"] == {"crm": "42", "checkout_session": made["id"]}


async def test_setup_mode_refuses_what_it_cannot_do_naming_the_parameter(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    before = await _count(database, "SELECT count(*) FROM checkout_sessions")
    url = "/v1/checkout/sessions"
    line = {
        "line_items[0][price_data][currency]": "inr",
        "line_items[0][price_data][unit_amount]": "1000",
        "line_items[0][price_data][product_data][name]": "Tea",
        "line_items[0][quantity]": "1",
    }
    _refused(await post(client, merchant, url, mode="setup", **line), "line_items")
    for kind in ("upi", "netbanking"):
        sent = {"payment_method_types[0]": "card", "payment_method_types[1]": kind}
        error = _refused(
            await post(client, merchant, url, mode="setup", **sent), "payment_method_types[1]"
        )
        assert kind in error["message"]
    _refused(await post(client, merchant, url, mode="setup", currency="xx1"), "currency")
    _refused(
        await post(
            client, merchant, url, mode="setup", customer="cus_nope", customer_email="a@b.in"
        ),
        "customer_email",
    )
    missing = await post(client, merchant, url, mode="setup", customer="cus_nope")
    _refused(missing, "customer", 404)
    _refused(
        await post(
            client, merchant, url, mode="payment", **line, **{"setup_intent_data[description]": "x"}
        ),
        "setup_intent_data",
    )
    _refused(await post(client, merchant, url, mode="payment", currency="usd", **line), "currency")
    # Nothing is bought, so nothing is discounted (Stripe refuses both in setup mode).
    _refused(
        await post(client, merchant, url, mode="setup", allow_promotion_codes="true"),
        "allow_promotion_codes",
    )
    _refused(
        await post(client, merchant, url, mode="setup", **{"discounts[0][coupon]": "FEST10"}),
        "discounts",
    )
    assert await _count(database, "SELECT count(*) FROM checkout_sessions") == before


async def test_a_saved_card_completes_the_session_in_the_setup_intents_transaction(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    customer = await post(client, merchant, "/v1/customers", email="meera@example.in")
    customer_id = customer.json()["id"]
    made = await setup_session(client, merchant, customer=customer_id)
    assert made["customer_creation"] is None
    path = path_of(made)
    response, csrf = await page(client, path)
    html = response.text
    assert "Save your card for future payments with Acme" in html
    assert "₹" not in html and "Save card" in html and f"{path}/setup" in html
    saved = await save(client, path, **card("4242 4242 4242 4242"))
    assert saved.status_code == 303 and saved.headers["location"] == path
    done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert done["status"] == "complete" and done["payment_status"] == "no_payment_required"
    assert done["setup_intent"].startswith("seti_") and done["url"] is None
    assert done["customer"] == customer_id and done["payment_intent"] is None
    intent = await get(client, merchant, f"/v1/setup_intents/{done['setup_intent']}")
    assert intent["status"] == "succeeded" and intent["customer"] == customer_id
    method = await get(client, merchant, f"/v1/payment_methods/{intent['payment_method']}")
    assert method["customer"] == customer_id and method["card"]["last4"] == "4242"
    assert await events_of(database, made["id"]) == ["checkout.session.completed"]
    events = await get(client, merchant, "/v1/events", type="checkout.session.completed")
    assert events["data"][0]["data"]["object"] == {**done, "url": None}
    # Both the setup and the completion, in one transaction (the event's rows say so).
    together = await _count(
        database,
        "SELECT count(DISTINCT xmin::text) FROM events WHERE object_id IN (:s, :i)"
        " AND type IN ('checkout.session.completed', 'setup_intent.succeeded')",
        s=made["id"],
        i=done["setup_intent"],
    )
    assert together == 1
    done_page = (await client.get(path)).text
    assert "https://shop.example/thanks?session=" + made["id"] in done_page
    assert "Card saved" in done_page
    # Saving again on a complete session does nothing more.
    again = await client.post(f"{path}/setup", data={"csrf": csrf, **card("4242424242424242")})
    assert again.headers["location"] == path
    assert (
        await _count(
            database,
            "SELECT count(*) FROM setup_intents WHERE metadata->>'checkout_session' = :id",
            id=made["id"],
        )
        == 1
    )
    refused = await post(client, merchant, f"/v1/checkout/sessions/{made['id']}/expire")
    assert refused.status_code == 400


async def test_customer_creation_always_makes_the_customer_and_attaches_the_card(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    made = await setup_session(
        client, merchant, customer_email="ravi@example.in", customer_creation="always"
    )
    await save(client, path_of(made), **card("4242424242424242"))
    done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert done["status"] == "complete" and done["customer"].startswith("cus_")
    customer = await get(client, merchant, f"/v1/customers/{done['customer']}")
    assert customer["email"] == "ravi@example.in"
    intent = await get(client, merchant, f"/v1/setup_intents/{done['setup_intent']}")
    method = await get(client, merchant, f"/v1/payment_methods/{intent['payment_method']}")
    assert method["customer"] == done["customer"]
    listed = await get(
        client, merchant, f"/v1/customers/{done['customer']}/payment_methods", type="card"
    )
    assert [m["id"] for m in listed["data"]] == [method["id"]]
    # if_required (the default) makes none: the card is saved, attached to nobody (Stripe's).
    plain = await setup_session(client, merchant)
    await save(client, path_of(plain), **card("4242424242424242"))
    plain_done = await get(client, merchant, f"/v1/checkout/sessions/{plain['id']}")
    assert plain_done["status"] == "complete" and plain_done["customer"] is None
    plain_intent = await get(client, merchant, f"/v1/setup_intents/{plain_done['setup_intent']}")
    plain_method = await get(
        client, merchant, f"/v1/payment_methods/{plain_intent['payment_method']}"
    )
    assert plain_method["customer"] is None


async def test_a_declined_card_then_a_good_one_on_one_setup_intent(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    made = await setup_session(client, merchant)
    path = path_of(made)
    declined = await save(client, path, **card("4000000000000002"))
    assert declined.headers["location"] == f"{path}?error=generic_decline"
    shown = (await client.get(declined.headers["location"])).text
    assert "Your card was declined" in shown and "Save card" in shown
    open_after = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert open_after["status"] == "open" and open_after["setup_intent"].startswith("seti_")
    # The session owns its SetupIntent: the merchant cannot cancel or update it directly.
    owned = open_after["setup_intent"]
    for route, sent in (
        (f"/v1/setup_intents/{owned}/cancel", {}),
        (f"/v1/setup_intents/{owned}", {"metadata[x]": "1"}),
    ):
        refused = await post(client, merchant, route, **sent)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["code"] == "setup_intent_unexpected_state"
        assert made["id"] in refused.json()["error"]["message"]
    saved = await save(client, path, **card("4242424242424242"))
    assert saved.headers["location"] == path
    done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert done["status"] == "complete" and done["setup_intent"] == open_after["setup_intent"]
    assert await events_of(database, made["id"]) == ["checkout.session.completed"]


async def test_three_d_secure_comes_back_to_the_page_and_completes(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    made = await setup_session(client, merchant)
    path = path_of(made)
    challenged = await save(client, path, **card("4000002500003155"))
    challenge = httpx.URL(challenged.headers["location"]).path
    assert challenge.startswith("/sandbox/3ds/")
    waiting = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert waiting["status"] == "open"
    assert "Your bank is waiting for you" in (await client.get(path)).text
    answered = await client.post(challenge, data={"outcome": "complete"})
    assert httpx.URL(answered.headers["location"]).path == path
    done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert done["status"] == "complete" and done["payment_status"] == "no_payment_required"
    # A failed challenge, on another session: shown, and the card can be typed again.
    other = await setup_session(client, merchant)
    other_path = path_of(other)
    challenged = await save(client, other_path, **card("4000002500003155"))
    failed = await client.post(
        httpx.URL(challenged.headers["location"]).path, data={"outcome": "fail"}
    )
    assert httpx.URL(failed.headers["location"]).path == other_path
    shown = (await client.get(other_path)).text
    assert "Your bank could not authenticate your card." in shown and "Save card" in shown


async def test_expiry_cancels_the_open_setup_intent(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    made = await setup_session(client, merchant)
    path = path_of(made)
    _, csrf = await page(client, path)
    challenged = await save(client, path, **card("4000002500003155"))  # waiting on 3-D Secure
    await expire_on(database, made["id"])
    await expire_on(database, made["id"])  # run twice: nothing more
    expired = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert expired["status"] == "expired" and expired["url"] is None
    intent = await get(client, merchant, f"/v1/setup_intents/{expired['setup_intent']}")
    assert intent["status"] == "canceled" and intent["cancellation_reason"] == "abandoned"
    assert await events_of(database, made["id"]) == ["checkout.session.expired"]
    # The challenge answered late completes nothing; the page refuses another card.
    await client.post(httpx.URL(challenged.headers["location"]).path, data={"outcome": "complete"})
    refused = await client.post(f"{path}/setup", data={"csrf": csrf, **card("4242424242424242")})
    assert refused.headers["location"].endswith("?error=expired")
    assert "This page has expired" in (await client.get(path)).text
    after = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert after["status"] == "expired"
    # The API's expire, on a session never submitted: no SetupIntent to cancel.
    fresh = await setup_session(client, merchant)
    expired_now = await post(client, merchant, f"/v1/checkout/sessions/{fresh['id']}/expire")
    assert expired_now.json()["status"] == "expired"
    assert expired_now.json()["setup_intent"] is None


async def test_the_payment_pages_route_does_not_pay_a_setup_session(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    made = await setup_session(client, merchant)
    path = path_of(made)
    _, csrf = await page(client, path)
    posted = await client.post(f"{path}/pay", data={"csrf": csrf, **card("4242424242424242")})
    assert posted.status_code == 303
    still = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert still["status"] == "open" and still["payment_intent"] is None
    # And a payment session's token does not save a card.
    paying = await session(client, merchant)
    paying_path = path_of(paying)
    _, csrf = await page(client, paying_path)
    posted = await client.post(
        f"{paying_path}/setup", data={"csrf": csrf, **card("4242424242424242")}
    )
    assert posted.status_code == 303
    untouched = await get(client, merchant, f"/v1/checkout/sessions/{paying['id']}")
    assert untouched["setup_intent"] is None and untouched["status"] == "open"


async def test_one_setup_session_submitted_in_two_tabs_at_once_saves_once(
    database_url: str, api_settings: Settings, merchant: TestMerchant, database: Database
) -> None:
    """Two tabs submit a card at once over real connections, with a card network slow enough
    (300 ms) that they overlap: one SetupIntent, one verification that succeeds, one
    completion; the tab that lost is told the card is being processed, or sees it saved."""
    async with app_client(
        database_url, api_settings, sandbox_card_latency_ms=SLOW_CARD_MS
    ) as client:
        for _ in range(RACE_ROUNDS):
            made = await setup_session(client, merchant, customer_creation="always")
            path = path_of(made)
            _, csrf = await page(client, path)
            answers = await asyncio.gather(
                *(
                    client.post(f"{path}/setup", data={"csrf": csrf, **card("4242424242424242")})
                    for _tab in range(2)
                )
            )
            assert all(answer.status_code == 303 for answer in answers)
            for answer in answers:
                location = answer.headers["location"]
                assert location == path or location.endswith("?error=lock_timeout"), location
            done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
            assert (done["status"], done["payment_status"]) == ("complete", "no_payment_required")
            assert (
                await _count(
                    database,
                    "SELECT count(*) FROM setup_intents WHERE metadata->>'checkout_session' = :id",
                    id=made["id"],
                )
                == 1
            )
            assert await events_of(database, made["id"]) == ["checkout.session.completed"]
            assert await events_of(database, done["setup_intent"]) == [
                "setup_intent.created",
                "setup_intent.succeeded",
            ]
            assert (
                await _count(
                    database,
                    "SELECT count(*) FROM customers WHERE metadata->>'checkout_session' = :id",
                    id=made["id"],
                )
                == 1
            )


async def test_a_card_saved_racing_the_expiry_completes_or_expires_never_both(
    database_url: str, api_settings: Settings, merchant: TestMerchant, database: Database
) -> None:
    """The page's submission and the expiry job at once, over real connections: the session
    ends complete with its SetupIntent succeeded, or expired with it canceled (or never
    made), and records exactly that one event."""
    async with app_client(
        database_url, api_settings, sandbox_card_latency_ms=SLOW_CARD_MS
    ) as client:
        for _ in range(RACE_ROUNDS):
            made = await setup_session(client, merchant)
            path = path_of(made)
            _, csrf = await page(client, path)
            saving = client.post(f"{path}/setup", data={"csrf": csrf, **card("4242424242424242")})
            await asyncio.gather(saving, expire_on(database, made["id"]))
            await expire_on(database, made["id"])  # the job's retry, after a busy verification
            final = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
            events = await events_of(database, made["id"])
            intent = None
            if final["setup_intent"] is not None:
                intent = await get(client, merchant, f"/v1/setup_intents/{final['setup_intent']}")
            if final["status"] == "complete":
                assert intent is not None and intent["status"] == "succeeded"
                assert events == ["checkout.session.completed"]
            else:
                assert final["status"] == "expired", final
                assert intent is None or intent["status"] == "canceled"
                assert events == ["checkout.session.expired"]
