"""Promotion codes and the customer's email on the hosted page, over HTTP (the browser test is
test_browser.py): a code typed on the page (``allow_promotion_codes``) discounts the session,
its line items and its PaymentIntent, and is counted once when the session completes; a code
that cannot be used is refused on the page naming why, changing nothing; Stripe's ``discounts``
create parameter; two sessions racing for a code's last redemption. A session with no customer
and no email asks for one before paying: it becomes ``customer_details.email``, the intent's
``receipt_email`` and a created customer's email, and is never logged."""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any

import httpx
import pytest

from beyondpay.kit.settings import Settings
from tests.billing.invoices.support import ok
from tests.checkout.support import EMAIL, card, give_email, page, path_of, pay, session
from tests.payments.support import get, post
from tests.support import TestMerchant, app_client

TOTAL = 3_248_50
TEN_PERCENT_OFF = 324_85  # of twice ₹1,499.00 (₹299.80 off) and ₹250.50 (₹25.05 off)
_PROMO_ERROR = re.compile(r'data-testid="promo-error">([^<]+)<')


async def _code(
    client: httpx.AsyncClient, merchant: TestMerchant, code: str, **extra: str
) -> dict[str, Any]:
    coupon = await ok(await post(client, merchant, "/v1/coupons", percent_off="10"))
    return await ok(
        await post(client, merchant, "/v1/promotion_codes", coupon=coupon["id"], code=code, **extra)
    )


async def _apply(client: httpx.AsyncClient, path: str, code: str) -> httpx.Response:
    csrf = await give_email(client, path)
    return await client.post(f"{path}/promotion_code", data={"csrf": csrf, "promotion_code": code})


def _refusal(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    found = _PROMO_ERROR.search(response.text)
    assert found is not None, response.text
    return html.unescape(found.group(1))


async def test_a_code_typed_on_the_page_discounts_the_session_and_counts_once_paid(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    promo = await _code(client, merchant, "DIWALI10")
    made = await session(client, merchant, allow_promotion_codes="true")
    path = path_of(made)
    shown, _ = await page(client, path)
    assert '<label for="promotion-code">Promotion code</label>' in shown.text
    applied = await _apply(client, path, "diwali10")  # codes are not case sensitive
    assert applied.status_code == 303, applied.text
    found = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert found["discounts"] == [
        {"coupon": promo["promotion"]["coupon"], "promotion_code": promo["id"]}
    ]
    assert found["total_details"]["amount_discount"] == TEN_PERCENT_OFF
    assert found["amount_subtotal"] == TOTAL
    assert found["amount_total"] == TOTAL - TEN_PERCENT_OFF
    items = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}/line_items")
    assert [item["amount_discount"] for item in items["data"]] == [299_80, 25_05]
    assert [item["amount_total"] for item in items["data"]] == [2_698_20, 225_45]
    shown, _ = await page(client, path)
    assert "DIWALI10 applied" in shown.text and "₹2,923.65" in shown.text
    # Not counted when applied: only a completed session redeems it.
    assert (await get(client, merchant, f"/v1/promotion_codes/{promo['id']}"))[
        "times_redeemed"
    ] == 0
    assert (await pay(client, path, **card("4242424242424242"))).status_code == 303
    done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert done["status"] == "complete"
    intent = await get(client, merchant, f"/v1/payment_intents/{done['payment_intent']}")
    assert intent["amount"] == intent["amount_received"] == TOTAL - TEN_PERCENT_OFF
    assert (await get(client, merchant, f"/v1/promotion_codes/{promo['id']}"))[
        "times_redeemed"
    ] == 1
    assert (await get(client, merchant, f"/v1/coupons/{promo['promotion']['coupon']}"))[
        "times_redeemed"
    ] == 1


async def test_a_code_after_a_declined_attempt_lowers_the_intents_amount(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    await _code(client, merchant, "LATE10")
    made = await session(client, merchant, allow_promotion_codes="true")
    path = path_of(made)
    declined = await pay(client, path, **card("4000000000000002"))
    assert declined.status_code == 303
    intent_id = (await get(client, merchant, f"/v1/checkout/sessions/{made['id']}"))[
        "payment_intent"
    ]
    assert (await get(client, merchant, f"/v1/payment_intents/{intent_id}"))["amount"] == TOTAL
    assert (await _apply(client, path, "LATE10")).status_code == 303
    intent = await get(client, merchant, f"/v1/payment_intents/{intent_id}")
    assert intent["amount"] == TOTAL - TEN_PERCENT_OFF
    assert (await pay(client, path, **card("4242424242424242"))).status_code == 303
    done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert (done["status"], done["payment_intent"]) == ("complete", intent_id)


async def test_a_code_that_cannot_be_used_is_refused_naming_why_and_changes_nothing(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    paused = await _code(client, merchant, "PAUSED")
    await ok(await post(client, merchant, f"/v1/promotion_codes/{paused['id']}", active="false"))
    await _code(client, merchant, "ONCE", max_redemptions="1")
    await _code(
        client,
        merchant,
        "BIGSPEND",
        **{
            "restrictions[minimum_amount]": "500000",
            "restrictions[minimum_amount_currency]": "inr",
        },
    )
    first = await session(client, merchant, allow_promotion_codes="true")
    assert (await _apply(client, path_of(first), "ONCE")).status_code == 303
    assert (await pay(client, path_of(first), **card("4242424242424242"))).status_code == 303
    made = await session(client, merchant, allow_promotion_codes="true")
    path = path_of(made)
    before = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert "No active promotion code is 'NOPE'" in _refusal(await _apply(client, path, "NOPE"))
    assert "No active promotion code is 'PAUSED'" in _refusal(await _apply(client, path, "PAUSED"))
    assert "ONCE has been redeemed" in _refusal(await _apply(client, path, "ONCE"))
    assert "minimum amount" in _refusal(await _apply(client, path, "BIGSPEND"))
    assert await get(client, merchant, f"/v1/checkout/sessions/{made['id']}") == before
    # Without allow_promotion_codes the page has no field and takes no code.
    plain = await session(client, merchant)
    shown, _ = await page(client, path_of(plain))
    assert "promotion-code" not in shown.text
    assert (await _apply(client, path_of(plain), "FESTIVE")).status_code == 400
    assert (await get(client, merchant, f"/v1/checkout/sessions/{plain['id']}"))["discounts"] == []


async def test_discounts_on_create_are_applied_and_exclude_allow_promotion_codes(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    promo = await _code(client, merchant, "FESTIVE")
    coupon = promo["promotion"]["coupon"]
    made = await session(client, merchant, **{"discounts[0][promotion_code]": promo["id"]})
    assert made["amount_total"] == TOTAL - TEN_PERCENT_OFF
    assert made["discounts"] == [{"coupon": coupon, "promotion_code": promo["id"]}]
    by_coupon = await session(client, merchant, **{"discounts[0][coupon]": coupon})
    assert by_coupon["discounts"] == [{"coupon": coupon, "promotion_code": None}]
    both = await post(
        client,
        merchant,
        "/v1/checkout/sessions",
        mode="payment",
        allow_promotion_codes="true",
        **{
            "discounts[0][coupon]": coupon,
            "line_items[0][price_data][currency]": "inr",
            "line_items[0][price_data][unit_amount]": "10000",
            "line_items[0][price_data][product_data][name]": "Tea",
            "line_items[0][quantity]": "1",
        },
    )
    assert both.status_code == 400 and both.json()["error"]["param"] == "discounts"
    missing = await post(
        client,
        merchant,
        "/v1/checkout/sessions",
        mode="payment",
        **{
            "discounts[0][promotion_code]": "promo_nope",
            "line_items[0][price_data][currency]": "inr",
            "line_items[0][price_data][unit_amount]": "10000",
            "line_items[0][price_data][product_data][name]": "Tea",
            "line_items[0][quantity]": "1",
        },
    )
    assert missing.status_code in (400, 404)
    assert missing.json()["error"]["param"] == "discounts[0][promotion_code]"


async def test_two_sessions_racing_for_a_codes_last_redemption(
    database_url: str, api_settings: Settings, merchant: TestMerchant
) -> None:
    """Both showed the code's last redemption and both are paid at once: both complete (their
    customers paid the prices shown), and the code is counted once, never past its limit."""
    async with app_client(database_url, api_settings, sandbox_card_latency_ms="300") as client:
        promo = await _code(client, merchant, "LAST", max_redemptions="1")
        sessions = [await session(client, merchant, allow_promotion_codes="true") for _ in "ab"]
        for made in sessions:
            assert (await _apply(client, path_of(made), "LAST")).status_code == 303
        csrfs = [await give_email(client, path_of(made)) for made in sessions]
        answers = await asyncio.gather(
            *(
                client.post(f"{path_of(made)}/pay", data={"csrf": csrf, **card("4242424242424242")})
                for made, csrf in zip(sessions, csrfs, strict=True)
            )
        )
        assert all(answer.status_code == 303 for answer in answers)
        for made in sessions:
            done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
            assert done["status"] == "complete"
            assert done["amount_total"] == TOTAL - TEN_PERCENT_OFF
        counted = await get(client, merchant, f"/v1/promotion_codes/{promo['id']}")
        assert counted["times_redeemed"] == 1


async def test_the_page_asks_for_an_email_before_paying(
    client: httpx.AsyncClient, merchant: TestMerchant, capfd: pytest.CaptureFixture[str]
) -> None:
    made = await session(client, merchant, customer_creation="always")
    path = path_of(made)
    shown, csrf = await page(client, path)
    assert '<label for="email">Email address</label>' in shown.text
    assert 'type="email"' in shown.text and "card-number" not in shown.text
    refused = await client.post(f"{path}/pay", data={"csrf": csrf, **card("4242424242424242")})
    assert refused.headers["location"].endswith("?error=checkout_email_required")
    bad = await client.post(f"{path}/email", data={"csrf": csrf, "email": "not an address"})
    assert bad.status_code == 400 and "Enter a valid email address." in bad.text
    assert (await pay(client, path, **card("4242424242424242"))).status_code == 303
    done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
    assert done["customer_details"] == {"email": EMAIL} and done["customer_email"] is None
    intent = await get(client, merchant, f"/v1/payment_intents/{done['payment_intent']}")
    assert intent["receipt_email"] == EMAIL
    customer = await get(client, merchant, f"/v1/customers/{done['customer']}")
    assert customer["email"] == EMAIL
    assert EMAIL not in "".join(capfd.readouterr())
    # A session with the merchant's email or a customer asks for none.
    given = await session(client, merchant, customer_email="ravi@example.in")
    shown, _ = await page(client, path_of(given))
    assert 'action="' + path_of(given) + '/email"' not in shown.text


async def test_a_code_used_up_since_it_was_applied_comes_off_before_the_payment(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    promo = await _code(client, merchant, "LASTONE", max_redemptions="1")
    first, second = [await session(client, merchant, allow_promotion_codes="true") for _ in "ab"]
    for made in (first, second):
        assert (await _apply(client, path_of(made), "LASTONE")).status_code == 303
    assert (await pay(client, path_of(first), **card("4242424242424242"))).status_code == 303
    refused = await pay(client, path_of(second), **card("4242424242424242"))
    assert refused.headers["location"].endswith("?error=discount_removed")
    shown = await client.get(refused.headers["location"])
    assert "can no longer be used and was removed" in shown.text
    found = await get(client, merchant, f"/v1/checkout/sessions/{second['id']}")
    assert (found["status"], found["discounts"], found["amount_total"]) == ("open", [], TOTAL)
    intent = await get(client, merchant, f"/v1/payment_intents/{found['payment_intent']}")
    assert intent["amount"] == TOTAL and intent["status"] == "requires_payment_method"
    assert (await pay(client, path_of(second), **card("4242424242424242"))).status_code == 303
    done = await get(client, merchant, f"/v1/checkout/sessions/{second['id']}")
    assert (done["status"], done["amount_total"]) == ("complete", TOTAL)
    counted = await get(client, merchant, f"/v1/promotion_codes/{promo['id']}")
    assert counted["times_redeemed"] == 1
