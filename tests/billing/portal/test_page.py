"""The hosted customer portal over HTTP, as a browser drives it: the link opens once and starts
a visit (an ``HttpOnly`` cookie), an expired or used link says so (never a 5xx), each form
carries the visit's anti-forgery token and a one-time id (sent twice, it acts once), cards are
saved through a SetupIntent (3-D Secure on the sandbox page where the card asks), made the
default and removed, and nothing reaches another customer or merchant."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from beyondpay.billing.portal.domain import csrf_token
from beyondpay.db.session import Database
from beyondpay.kit.clock import utcnow
from beyondpay.merchants.domain import MerchantStatus
from beyondpay.merchants.service import merchant_service
from beyondpay.web.pages import FORMS_CONTENT_SECURITY_POLICY
from tests.billing.portal.support import (
    add_card,
    customer,
    event_types,
    execute,
    form_to,
    open_visit,
    path_of,
    portal_session,
    post_form,
)
from tests.support import TestMerchant, make_merchant

VISA = "4242424242424242"
THREE_D_SECURE = "4000002500003155"  # authenticates when set up
DECLINED = "4000000000000002"


@pytest.fixture
async def browser_client(api_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser: its own cookies."""
    transport = httpx.ASGITransport(app=api_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def _visit(
    client: httpx.AsyncClient, merchant: TestMerchant, **customer_fields: Any
) -> tuple[str, dict[str, Any], str]:
    """A customer, their portal session, and the portal page's path (the visit open)."""
    customer_id = await customer(client, merchant, **customer_fields)
    session = await portal_session(client, merchant, customer_id)
    return customer_id, session, await open_visit(client, session)


async def _customer(client: httpx.AsyncClient, merchant: TestMerchant, customer_id: str) -> Any:
    answer = await client.get(f"/v1/customers/{customer_id}", headers=merchant.auth())
    assert answer.status_code == 200
    return answer.json()


async def _methods(client: httpx.AsyncClient, merchant: TestMerchant, customer_id: str) -> Any:
    answer = await client.get(
        f"/v1/customers/{customer_id}/payment_methods", headers=merchant.auth()
    )
    assert answer.status_code == 200
    return answer.json()["data"]


def _notice(answer: httpx.Response, session: dict[str, Any], notice: str) -> None:
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/billing_portal/{session['id']}?notice={notice}"


async def test_the_link_opens_a_visit_once_and_the_page_shows_the_customer(
    client: httpx.AsyncClient, browser_client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    customer_id = await customer(client, merchant)
    session = await portal_session(client, merchant, customer_id)
    opened = await client.get(path_of(session["url"]))
    assert opened.status_code == 303
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith(f"portal_visit_{session['id']}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/billing_portal" in cookie
    assert "Max-Age=3600" in cookie
    page = await client.get(opened.headers["location"])
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == FORMS_CONTENT_SECURITY_POLICY
    assert "form-action 'self'" in FORMS_CONTENT_SECURITY_POLICY
    assert "script-src" not in FORMS_CONTENT_SECURITY_POLICY
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    html = page.text
    assert "<title>Billing · Acme</title>" in html and "Asha Rao" in html
    assert "asha@example.com" in html and "Test mode" in html
    assert 'href="https://shop.example/account"' in html and "Return to Acme" in html
    assert "No payment method is saved yet." in html
    assert "You have no subscriptions." in html and "No invoices yet." in html
    assert "<script" not in html and " style=" not in html
    # Opened again in the same browser: back to its visit, no new cookie.
    again = await client.get(path_of(session["url"]))
    assert again.status_code == 303 and "set-cookie" not in again.headers
    # In another browser: the link is spent.
    used = await browser_client.get(path_of(session["url"]))
    assert used.status_code == 410 and "This link has already been used" in used.text
    assert "Asha" not in used.text
    # The page without the visit's cookie shows nothing of the customer.
    stranger = await browser_client.get(opened.headers["location"])
    assert stranger.status_code == 403 and "Asha" not in stranger.text
    assert "Open the billing portal from its link" in stranger.text


async def test_an_expired_link_and_an_expired_visit_say_so(
    client: httpx.AsyncClient,
    browser_client: httpx.AsyncClient,
    merchant: TestMerchant,
    database: Database,
) -> None:
    customer_id = await customer(client, merchant)
    session = await portal_session(client, merchant, customer_id)
    await execute(
        database,
        "UPDATE billing_portal_sessions SET link_expires_at = :at WHERE id = :id",
        at=utcnow() - timedelta(seconds=1),
        id=session["id"],
    )
    expired = await client.get(path_of(session["url"]))
    assert expired.status_code == 410, expired.text
    assert "This link has expired" in expired.text and "set-cookie" not in expired.headers
    assert 'href="https://shop.example/account"' in expired.text
    assert "Return to Acme" in expired.text
    # A visit past its hour.
    fresh = await portal_session(client, merchant, customer_id)
    page_path = await open_visit(browser_client, fresh)
    await execute(
        database,
        "UPDATE billing_portal_sessions SET visit_expires_at = :at WHERE id = :id",
        at=utcnow() - timedelta(seconds=1),
        id=fresh["id"],
    )
    late = await browser_client.get(page_path)
    assert late.status_code == 410 and "This link has expired" in late.text
    # Links that are not ours.
    token = path_of(fresh["url"]).rsplit("/", 1)[1]
    for path in (
        "/billing_portal/session/" + token[:-2] + ("AA" if token[-2:] != "AA" else "BB"),
        "/billing_portal/session/x",
        "/billing_portal/session/" + "A" * 700,
        "/billing_portal/" + fresh["id"],
        "/billing_portal/not-a-session",
    ):
        answer = await client.get(path)
        assert answer.status_code in (403, 404), (path, answer.status_code)
        assert "text/html" in answer.headers["content-type"]


async def test_a_card_is_saved_made_the_default_and_listed(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    customer_id, session, page_path = await _visit(client, merchant)
    saved = await add_card(client, page_path, VISA, name="Asha Rao")
    _notice(saved, session, "card_added")
    (method,) = await _methods(client, merchant, customer_id)
    assert method["card"]["last4"] == "4242" and method["allow_redisplay"] == "always"
    assert method["billing_details"]["name"] == "Asha Rao"
    assert (await _customer(client, merchant, customer_id))["invoice_settings"][
        "default_payment_method"
    ] == method["id"]
    page = await client.get(saved.headers["location"])
    html = page.text
    assert (
        "Visa •••• 4242" in html and "Expires 12/2035" in html and 'data-testid="default"' in html
    )
    assert "Your card was saved." in html and VISA not in html
    assert "payment_method.attached" in await event_types(database, method["id"])
    assert "customer.updated" in await event_types(database, customer_id)
    (setup,) = await execute(
        database,
        "SELECT id, status, usage FROM setup_intents WHERE payment_method_id = :id",
        id=method["id"],
    )
    assert setup[1:] == ("succeeded", "off_session")
    # What the visit did is in the merchant's audit trail, under the session.
    audited = await execute(
        database,
        "SELECT route, status FROM audit_events WHERE api_key_id = :id",
        id=session["id"],
    )
    assert audited == [("/billing_portal/{session_id}/cards", 303)]


async def test_a_form_sent_twice_acts_once(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    customer_id, session, page_path = await _visit(client, merchant)
    page = await client.get(page_path)
    form = form_to(page.text, "/cards")
    fields = {"number": VISA, "exp_month": "12", "exp_year": "2035", "cvc": "123"}
    first = await post_form(client, form, **fields)
    second = await post_form(client, form, **fields)
    _notice(first, session, "card_added")
    _notice(second, session, "card_added")
    assert len(await _methods(client, merchant, customer_id)) == 1


async def test_the_same_form_sent_twice_at_once_saves_one_card(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    customer_id, session, page_path = await _visit(client, merchant)
    page = await client.get(page_path)
    form = form_to(page.text, "/cards")
    fields = {"number": VISA, "exp_month": "12", "exp_year": "2035", "cvc": "123"}
    answers = await asyncio.gather(*(post_form(client, form, **fields) for _ in range(2)))
    for answer in answers:
        assert answer.status_code == 303, answer.text
        assert answer.headers["location"] in (
            f"/billing_portal/{session['id']}?notice=card_added",
            f"/billing_portal/{session['id']}?notice=card_pending",
        )
    assert len(await _methods(client, merchant, customer_id)) == 1
    rows = await execute(database, "SELECT count(*) FROM setup_intents")
    assert rows[0][0] == 1


async def test_three_d_secure_is_completed_on_the_sandbox_page_and_the_visit_returns(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    customer_id, session, page_path = await _visit(client, merchant)
    asked = await add_card(client, page_path, THREE_D_SECURE)
    assert asked.status_code == 303
    challenge = path_of(asked.headers["location"])
    assert challenge.startswith("/sandbox/3ds/")
    # Not saved until the customer authenticates.
    assert await _methods(client, merchant, customer_id) == []
    shown = await client.get(challenge)
    assert shown.status_code == 200
    answered = await client.post(challenge, data={"outcome": "complete"})
    assert answered.status_code == 303
    back = path_of(answered.headers["location"])
    assert back.startswith(f"/billing_portal/{session['id']}/cards/")
    returned = await client.get(back)
    _notice(returned, session, "card_added")
    (method,) = await _methods(client, merchant, customer_id)
    assert method["card"]["last4"] == "3155"
    default = (await _customer(client, merchant, customer_id))["invoice_settings"]
    assert default["default_payment_method"] == method["id"]
    # Coming back again changes nothing.
    _notice(await client.get(back), session, "card_added")


async def test_a_failed_challenge_and_a_declined_card_save_nothing(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    customer_id, session, page_path = await _visit(client, merchant)
    asked = await add_card(client, page_path, THREE_D_SECURE)
    challenge = path_of(asked.headers["location"])
    answered = await client.post(challenge, data={"outcome": "fail"})
    _notice(await client.get(path_of(answered.headers["location"])), session, "card_declined")
    declined = await add_card(client, page_path, DECLINED)
    _notice(declined, session, "card_declined")
    assert await _methods(client, merchant, customer_id) == []
    page = await client.get(declined.headers["location"])
    assert "Your card could not be saved" in page.text


async def test_card_details_refused_are_shown_beside_their_field(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    customer_id, _, page_path = await _visit(client, merchant)
    for number, fields, field, message in (
        ("4242424242424241", {}, "number", "Your card number is incorrect."),
        ("", {}, "number", "Enter your card number."),
        (VISA, {"exp_month": "13"}, "exp_month", "expiration month is invalid"),
        (VISA, {"exp_month": "ab"}, "exp_month", "Enter the expiry month"),
        (VISA, {"exp_year": "1999"}, "exp_year", "expiration year is invalid"),
        (VISA, {"cvc": "12"}, "cvc", "security code is invalid"),
    ):
        refused = await add_card(client, page_path, number, name="Asha R", **fields)
        assert refused.status_code == 400, refused.text
        html = refused.text
        assert message in html, (field, html[:200])
        assert f'id="card-{field}" name="{field}"' in html
        assert 'aria-invalid="true" aria-describedby="card-error" autofocus' in html
        assert 'value="Asha R"' in html  # the name is kept; the number and CVC never echoed
        assert not number or number not in html
    assert await _methods(client, merchant, customer_id) == []
    rows = await execute(database, "SELECT count(*) FROM payment_methods")
    assert rows[0][0] == 0


async def test_forms_without_the_visits_token_are_refused(
    client: httpx.AsyncClient,
    browser_client: httpx.AsyncClient,
    merchant: TestMerchant,
) -> None:
    customer_id, _session, page_path = await _visit(client, merchant)
    page = await client.get(page_path)
    form = form_to(page.text, "/cards")
    card = {"number": VISA, "exp_month": "12", "exp_year": "2035", "cvc": "123"}
    forged = {**form, "csrf_token": "A" * 43}
    refused = await post_form(client, forged, **card)
    assert refused.status_code == 403 and "This form has expired" in refused.text
    missing = await client.post(form["action"], data={"form_id": form["form_id"], **card})
    assert missing.status_code == 403
    bad_id = await post_form(client, {**form, "form_id": "short"}, **card)
    assert bad_id.status_code == 403
    as_json = await client.post(form["action"], json={**form, **card})
    assert as_json.status_code == 403
    # Another browser has the token (copied from the page) but not the visit's cookie.
    stranger = await post_form(browser_client, form, **card)
    assert stranger.status_code == 403 and "Open the billing portal from its link" in stranger.text
    assert await _methods(client, merchant, customer_id) == []


async def test_the_default_changes_and_a_card_is_removed(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    customer_id, session, page_path = await _visit(client, merchant)
    _notice(await add_card(client, page_path, VISA), session, "card_added")
    _notice(await add_card(client, page_path, "5555555555554444"), session, "card_added")
    methods = await _methods(client, merchant, customer_id)
    visa = next(method for method in methods if method["card"]["last4"] == "4242")
    mastercard = next(method for method in methods if method["card"]["last4"] == "4444")
    default = await _customer(client, merchant, customer_id)
    assert default["invoice_settings"]["default_payment_method"] == mastercard["id"]
    page = await client.get(page_path)
    assert page.text.index("Mastercard •••• 4444") < page.text.index("Visa •••• 4242")
    made_default = await post_form(client, form_to(page.text, f"{visa['id']}/default"))
    _notice(made_default, session, "default_updated")
    default = await _customer(client, merchant, customer_id)
    assert default["invoice_settings"]["default_payment_method"] == visa["id"]
    page = await client.get(page_path)
    remove = form_to(page.text, f"{mastercard['id']}/remove")
    _notice(await post_form(client, remove), session, "method_removed")
    _notice(await post_form(client, remove), session, "method_removed")  # sent twice: once
    assert [method["id"] for method in await _methods(client, merchant, customer_id)] == [
        visa["id"]
    ]
    assert "payment_method.detached" in await event_types(database, mastercard["id"])
    # Removing the default (no subscription is billed to it) leaves no default.
    page = await client.get(page_path)
    _notice(
        await post_form(client, form_to(page.text, f"{visa['id']}/remove")),
        session,
        "method_removed",
    )
    default = await _customer(client, merchant, customer_id)
    assert default["invoice_settings"]["default_payment_method"] is None


async def test_nothing_of_another_customer_or_merchant_is_reachable(
    client: httpx.AsyncClient,
    browser_client: httpx.AsyncClient,
    merchant: TestMerchant,
    database: Database,
) -> None:
    # Asha (of Acme) has a card.
    asha, asha_session, asha_page = await _visit(client, merchant)
    _notice(await add_card(client, asha_page, VISA), asha_session, "card_added")
    (asha_card,) = await _methods(client, merchant, asha)
    # Ravi, of another merchant, opens his own portal in another browser.
    other = await make_merchant(database, name="Globex")
    _ravi, ravi_session, ravi_page = await _visit(
        browser_client, other, name="Ravi Kumar", email="ravi@example.com"
    )
    page = await browser_client.get(ravi_page)
    assert "Globex" in page.text and "Ravi Kumar" in page.text
    assert "Asha" not in page.text and "Visa •••• 4242" not in page.text
    form = form_to(page.text, "/cards")
    for action in ("default", "remove"):
        target = f"/billing_portal/{ravi_session['id']}/payment_methods/{asha_card['id']}"
        forged = {**form, "action": f"{target}/{action}"}
        refused = await post_form(browser_client, forged)
        assert refused.status_code == 404, refused.text
        assert "Not found" in refused.text and "4242" not in refused.text
    # Nor with Acme's other customer: same merchant, another customer.
    _bob, bob_session, bob_page = await _visit(
        browser_client, merchant, name="Bob", email="bob@example.com"
    )
    page = await browser_client.get(bob_page)
    form = form_to(page.text, "/cards")
    forged = {
        **form,
        "action": f"/billing_portal/{bob_session['id']}/payment_methods/{asha_card['id']}/remove",
    }
    assert (await post_form(browser_client, forged)).status_code == 404
    # Ravi's visit cookie does not open Asha's session, in Ravi's browser.
    assert (await browser_client.get(asha_page)).status_code == 403
    assert [m["id"] for m in await _methods(client, merchant, asha)] == [asha_card["id"]]
    default = await _customer(client, merchant, asha)
    assert default["invoice_settings"]["default_payment_method"] == asha_card["id"]


async def test_features_the_configuration_turns_off_are_not_offered(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    configuration = await client.post(
        "/v1/billing_portal/configurations",
        data={"features[invoice_history][enabled]": "false"},
        headers=merchant.auth(),
    )
    assert configuration.status_code == 200, configuration.text
    customer_id = await customer(client, merchant)
    session = await portal_session(
        client, merchant, customer_id, configuration=configuration.json()["id"]
    )
    page_path = await open_visit(client, session)
    page = await client.get(page_path)
    assert "Add a card" not in page.text and "Invoice history" not in page.text
    default_page = await portal_session(client, merchant, customer_id)
    other_path = await open_visit(client, default_page)
    form = form_to((await client.get(other_path)).text, "/cards")
    # The visit's own token (the page has no form to take it from), for a feature that is off.
    secret = client.cookies.get(f"portal_visit_{session['id']}")
    assert secret is not None
    own = {"action": f"{page_path}/cards", "csrf_token": csrf_token(secret), "form_id": "A" * 22}
    off = await post_form(client, own, number=VISA, exp_month="1", exp_year="2035")
    assert off.status_code == 403 and "does not offer this" in off.text
    # A form of a visit that offers cards, posted to the visit that does not: no token there.
    posted = await post_form(
        client,
        {**form, "action": f"{page_path}/cards"},
        number=VISA,
        exp_month="1",
        exp_year="2035",
    )
    assert posted.status_code == 403


async def _update_configuration(
    client: httpx.AsyncClient, merchant: TestMerchant, prices: list[dict[str, Any]], **extra: str
) -> str:
    """A configuration offering a switch between ``prices`` (all of one product)."""
    fields = {
        "features[subscription_update][enabled]": "true",
        "features[subscription_update][default_allowed_updates][0]": "price",
        "features[subscription_update][proration_behavior]": "none",
        "features[subscription_update][products][0][product]": prices[0]["product"],
        **{
            f"features[subscription_update][products][0][prices][{index}]": price["id"]
            for index, price in enumerate(prices)
        },
        **extra,
    }
    made = await client.post(
        "/v1/billing_portal/configurations", data=fields, headers=merchant.auth()
    )
    assert made.status_code == 200, made.text
    return str(made.json()["id"])


async def _price(
    client: httpx.AsyncClient, merchant: TestMerchant, amount: int, product: str | None = None
) -> dict[str, Any]:
    fields = {"currency": "inr", "unit_amount": amount, "recurring[interval]": "month"}
    fields |= {"product": product} if product else {"product_data[name]": "Pro plan"}
    made = await client.post("/v1/prices", data=fields, headers=merchant.auth())
    assert made.status_code == 200, made.text
    answer: dict[str, Any] = made.json()
    return answer


async def _subscription(
    client: httpx.AsyncClient, merchant: TestMerchant, customer_id: str, price_id: str
) -> dict[str, Any]:
    """A trialing subscription (nothing to pay before the trial ends)."""
    made = await client.post(
        "/v1/subscriptions",
        data={
            "customer": customer_id,
            "items[0][price]": price_id,
            "items[0][quantity]": "2",
            "trial_period_days": "14",
        },
        headers=merchant.auth(),
    )
    assert made.status_code == 200, made.text
    answer: dict[str, Any] = made.json()
    return answer


async def test_the_section_lists_a_subscription_and_cancels_it_at_period_end(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    price = await _price(client, merchant, 149_900)
    customer_id, session, page_path = await _visit(client, merchant)
    subscription = await _subscription(client, merchant, customer_id, price["id"])
    page = await client.get(page_path)
    assert page.text.count('data-testid="subscription"') == 1
    assert "Pro plan \N{MULTIPLICATION SIGN} 2" in page.text
    assert "₹2,998.00 / month" in page.text and "trialing" in page.text
    form = form_to(page.text, f"/subscriptions/{subscription['id']}/cancel")
    canceled = await post_form(client, form)
    _notice(canceled, session, "subscription_canceled")
    again = await post_form(client, form)  # the same form twice: one change
    _notice(again, session, "subscription_canceled")
    read = await client.get(f"/v1/subscriptions/{subscription['id']}", headers=merchant.auth())
    assert read.json()["cancel_at_period_end"] is True and read.json()["status"] == "trialing"
    assert (await event_types(database, subscription["id"])).count(
        "customer.subscription.updated"
    ) == 1
    # Set to end: still listed ("ends …"), no cancel form any more.
    page = await client.get(page_path)
    assert "ends " in page.text and "/cancel" not in page.text


async def test_canceling_immediately_ends_it_and_it_leaves_the_list(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    configuration = await client.post(
        "/v1/billing_portal/configurations",
        data={
            "features[subscription_cancel][enabled]": "true",
            "features[subscription_cancel][mode]": "immediately",
        },
        headers=merchant.auth(),
    )
    assert configuration.status_code == 200, configuration.text
    price = await _price(client, merchant, 149_900)
    customer_id = await customer(client, merchant)
    subscription = await _subscription(client, merchant, customer_id, price["id"])
    session = await portal_session(
        client, merchant, customer_id, configuration=configuration.json()["id"]
    )
    page_path = await open_visit(client, session)
    form = form_to((await client.get(page_path)).text, "/cancel")
    _notice(await post_form(client, form), session, "subscription_canceled")
    _notice(await post_form(client, form), session, "subscription_canceled")
    read = await client.get(f"/v1/subscriptions/{subscription['id']}", headers=merchant.auth())
    assert read.json()["status"] == "canceled"
    assert "You have no subscriptions." in (await client.get(page_path)).text


async def test_an_immediate_cancel_records_the_reason_as_feedback(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    configuration = await client.post(
        "/v1/billing_portal/configurations",
        data={
            "features[subscription_cancel][enabled]": "true",
            "features[subscription_cancel][mode]": "immediately",
            "features[subscription_cancel][cancellation_reason][enabled]": "true",
            "features[subscription_cancel][cancellation_reason][options][0]": "too_expensive",
        },
        headers=merchant.auth(),
    )
    assert configuration.status_code == 200, configuration.text
    price = await _price(client, merchant, 149_900)
    customer_id = await customer(client, merchant)
    subscription = await _subscription(client, merchant, customer_id, price["id"])
    session = await portal_session(
        client, merchant, customer_id, configuration=configuration.json()["id"]
    )
    page_path = await open_visit(client, session)
    form = form_to((await client.get(page_path)).text, "/cancel")
    canceled = await post_form(client, form, reason="too_expensive")
    _notice(canceled, session, "subscription_canceled")
    read = await client.get(f"/v1/subscriptions/{subscription['id']}", headers=merchant.auth())
    assert read.json()["status"] == "canceled"
    assert read.json()["cancellation_details"]["feedback"] == "too_expensive"


async def test_a_plan_is_switched_to_an_active_price_of_the_configuration(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    pro = await _price(client, merchant, 149_900)
    team = await _price(client, merchant, 299_900, product=pro["product"])
    archived = await _price(client, merchant, 99_900, product=pro["product"])
    configuration = await _update_configuration(client, merchant, [pro, team, archived])
    off = await client.post(
        f"/v1/prices/{archived['id']}", data={"active": "false"}, headers=merchant.auth()
    )
    assert off.status_code == 200, off.text
    customer_id = await customer(client, merchant)
    subscription = await _subscription(client, merchant, customer_id, pro["id"])
    session = await portal_session(client, merchant, customer_id, configuration=configuration)
    page_path = await open_visit(client, session)
    html = (await client.get(page_path)).text
    # The other active price is offered, named; the current one and the archived one are not.
    assert f'value="{team["id"]}"' in html and "Pro plan · ₹2,999.00 / month" in html
    assert f'value="{pro["id"]}"' not in html and archived["id"] not in html
    form = form_to(html, f"/subscriptions/{subscription['id']}/switch")
    _notice(await post_form(client, form, price=team["id"]), session, "subscription_updated")
    _notice(await post_form(client, form, price=team["id"]), session, "subscription_updated")
    read = await client.get(f"/v1/subscriptions/{subscription['id']}", headers=merchant.auth())
    (item,) = read.json()["items"]["data"]
    assert item["price"]["id"] == team["id"] and item["quantity"] == 2
    assert (await event_types(database, subscription["id"])).count(
        "customer.subscription.updated"
    ) == 1
    assert "₹5,998.00 / month" in (await client.get(page_path)).text
    # A price the configuration does not offer (or no longer does) is refused.
    fresh = form_to((await client.get(page_path)).text, "/switch")
    refused = await post_form(client, fresh, price=archived["id"])
    assert refused.status_code == 404


async def test_another_customers_subscription_is_not_found(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    pro = await _price(client, merchant, 149_900)
    team = await _price(client, merchant, 299_900, product=pro["product"])
    configuration = await _update_configuration(
        client, merchant, [pro, team], **{"features[subscription_cancel][enabled]": "true"}
    )
    other = await customer(client, merchant)
    theirs = await _subscription(client, merchant, other, pro["id"])
    customer_id = await customer(client, merchant)
    mine = await _subscription(client, merchant, customer_id, pro["id"])
    session = await portal_session(client, merchant, customer_id, configuration=configuration)
    page_path = await open_visit(client, session)
    html = (await client.get(page_path)).text
    assert theirs["id"] not in html and mine["id"] in html
    cancel = form_to(html, f"/subscriptions/{mine['id']}/cancel")
    refused = await post_form(
        client, {**cancel, "action": f"{page_path}/subscriptions/{theirs['id']}/cancel"}
    )
    assert refused.status_code == 404 and "Not found" in refused.text
    switch = form_to(html, f"/subscriptions/{mine['id']}/switch")
    refused = await post_form(
        client,
        {**switch, "action": f"{page_path}/subscriptions/{theirs['id']}/switch"},
        price=team["id"],
    )
    assert refused.status_code == 404
    read = await client.get(f"/v1/subscriptions/{theirs['id']}", headers=merchant.auth())
    assert read.json()["cancel_at_period_end"] is False
    assert read.json()["items"]["data"][0]["price"]["id"] == pro["id"]


async def test_a_suspended_merchant_or_a_deleted_customer_closes_the_portal(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    customer_id, _session, page_path = await _visit(client, merchant)
    deleted = await client.delete(f"/v1/customers/{customer_id}", headers=merchant.auth())
    assert deleted.status_code == 200
    closed = await client.get(page_path)
    assert closed.status_code == 403 and "not available" in closed.text
    other_customer = await customer(client, merchant)
    fresh = await portal_session(client, merchant, other_customer)
    async with database.unit_of_work() as session_:
        await merchant_service.set_status(session_, merchant.id, MerchantStatus.suspended)
    refused = await client.get(path_of(fresh["url"]))
    assert refused.status_code == 403 and "not available" in refused.text


async def test_the_invoice_history_lists_finalized_invoices_with_their_links(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    customer_id = await customer(client, merchant)
    auth = merchant.auth()
    invoice_ids = []
    for amount in (150_000, 2_500):
        made = await client.post(
            "/v1/invoices",
            data={"customer": customer_id, "collection_method": "send_invoice"},
            headers=auth,
        )
        assert made.status_code == 200, made.text
        invoice_ids.append(made.json()["id"])
        item = await client.post(
            "/v1/invoiceitems",
            data={"invoice": invoice_ids[-1], "amount": amount, "currency": "inr"},
            headers=auth,
        )
        assert item.status_code == 200, item.text
    finalized = await client.post(f"/v1/invoices/{invoice_ids[0]}/finalize", headers=auth)
    assert finalized.status_code == 200, finalized.text
    invoice = finalized.json()
    session = await portal_session(client, merchant, customer_id)
    page = await client.get(await open_visit(client, session))
    assert page.status_code == 200
    html = page.text
    # The finalized invoice, with its number, amount and links; the draft is not listed.
    assert html.count('data-testid="invoice"') == 1
    assert invoice["number"] in html and "₹1,500.00" in html
    assert invoice["hosted_invoice_url"] in html and invoice["invoice_pdf"] in html
    assert invoice_ids[1] not in html and "₹25.00" not in html
