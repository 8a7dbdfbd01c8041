"""Risk and limits before the rail (issue #8), over HTTP with the merchant's own rules and
policies: a block rule declines with ``fraudulent`` before the card network sees the payment, a
challenge rule asks for 3-D Secure, a limits policy refuses with its code, and every charge
carries its risk score and level in ``outcome`` as Stripe's does."""

from __future__ import annotations

import httpx

from tests.payments.support import get, pay
from tests.support import TestMerchant


async def _rule(client: httpx.AsyncClient, merchant: TestMerchant, action: str, above: int) -> None:
    created = await client.post(
        "/v1/risk/rules",
        json={
            "action": action,
            "conditions": [{"feature": "amount_minor", "op": ">", "value": above}],
            "reason": f"{action} above {above}",
        },
        headers=merchant.auth(),
    )
    assert created.status_code == 200, created.text


async def test_a_charge_carries_its_risk_score_and_level(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await pay(client, merchant, payment_method="pm_card_visa")
    charge = await get(client, merchant, f"/v1/charges/{intent['latest_charge']}")
    assert charge["outcome"]["type"] == "authorized"
    assert charge["outcome"]["risk_level"] in ("normal", "elevated", "highest")
    assert 0 <= charge["outcome"]["risk_score"] <= 100
    assessments = await get(
        client, merchant, "/v1/risk/assessments", payment=intent["latest_charge"]
    )
    [assessment] = assessments["data"]
    assert assessment["score"] == charge["outcome"]["risk_score"]


async def test_a_block_rule_declines_before_the_network(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    await _rule(client, merchant, "block", 50_000)
    error = (
        await pay(client, merchant, status=402, amount="60000", payment_method="pm_card_visa")
    )["error"]
    assert (error["code"], error["decline_code"]) == ("card_declined", "fraudulent")
    charge = await get(client, merchant, f"/v1/charges/{error['charge']}")
    assert charge["outcome"]["type"] == "blocked"
    assert charge["outcome"]["network_status"] == "not_sent_to_network"
    # Below the rule's amount the same card pays.
    assert (await pay(client, merchant, amount="40000", payment_method="pm_card_visa"))[
        "status"
    ] == "succeeded"


async def test_a_challenge_rule_asks_for_three_d_secure(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    await _rule(client, merchant, "challenge", 50_000)
    intent = await pay(client, merchant, amount="60000", payment_method="pm_card_visa")
    assert intent["status"] == "requires_action"
    assert intent["next_action"]["type"] == "redirect_to_url"


async def test_a_limits_policy_refuses_with_its_code(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    created = await client.post(
        "/v1/limits/policies",
        json={"kind": "cap", "subject": "merchant", "period": "transaction", "amount_max": 100_000},
        headers=merchant.auth(),
    )
    assert created.status_code == 200, created.text
    error = (
        await pay(client, merchant, status=402, amount="150000", payment_method="pm_card_visa")
    )["error"]
    assert error["decline_code"] == "limits_transaction_amount_exceeded"
    assert (await pay(client, merchant, amount="90000", payment_method="pm_card_visa"))[
        "status"
    ] == "succeeded"


async def test_a_canceled_authorization_gives_its_limits_reservation_back(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    created = await client.post(
        "/v1/limits/policies",
        json={"kind": "cap", "subject": "merchant", "period": "day", "amount_max": 100_000},
        headers=merchant.auth(),
    )
    assert created.status_code == 200, created.text
    held = await pay(
        client, merchant, amount="80000", payment_method="pm_card_visa", capture_method="manual"
    )
    assert held["status"] == "requires_capture"
    over = (await pay(client, merchant, status=402, amount="80000", payment_method="pm_card_visa"))[
        "error"
    ]
    assert over["decline_code"] == "limits_amount_exceeded"
    canceled = await client.post(
        f"/v1/payment_intents/{held['id']}/cancel", headers=merchant.auth()
    )
    assert canceled.status_code == 200, canceled.text
    again = await pay(client, merchant, amount="80000", payment_method="pm_card_visa")
    assert again["status"] == "succeeded"


async def test_eleven_small_payments_with_a_test_card_all_succeed(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    # Issue 27: the default card-testing rule (five small card payments in an hour) and the
    # velocity rule never stop Stripe's documented test cards in test mode.
    for _ in range(11):
        intent = await pay(client, merchant, amount="100", payment_method="pm_card_visa")
        assert intent["status"] == "succeeded", intent
    for _ in range(6):  # the raw number and the legacy token are the same test card
        card = {
            "payment_method_data[type]": "card",
            "payment_method_data[card][number]": "4242424242424242",
            "payment_method_data[card][exp_month]": "12",
            "payment_method_data[card][exp_year]": "2040",
        }
        intent = await pay(client, merchant, amount="100", **card)
        assert intent["status"] == "succeeded", intent


async def test_the_always_blocked_test_card_is_blocked(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    for token in ("pm_card_radarBlock", "pm_card_riskLevelHighest"):
        error = (await pay(client, merchant, status=402, payment_method=token))["error"]
        assert (error["code"], error["decline_code"]) == ("card_declined", "fraudulent")
        charge = await get(client, merchant, f"/v1/charges/{error['charge']}")
        assert charge["outcome"]["type"] == "blocked"
        assert charge["outcome"]["risk_level"] == "highest"


async def test_the_elevated_risk_test_card_pays_with_an_elevated_level(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await pay(client, merchant, payment_method="pm_card_riskLevelElevated")
    assert intent["status"] == "succeeded"
    charge = await get(client, merchant, f"/v1/charges/{intent['latest_charge']}")
    assert charge["outcome"]["risk_level"] == "elevated"


async def test_a_merchant_allow_rule_passes_the_highest_risk_card_but_not_the_blocked_one(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    await _rule(client, merchant, "allow", 0)
    intent = await pay(client, merchant, payment_method="pm_card_riskLevelHighest")
    assert intent["status"] == "succeeded"
    await pay(client, merchant, status=402, payment_method="pm_card_radarBlock")


async def test_a_merchant_rule_still_blocks_a_test_card(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    await _rule(client, merchant, "block", 5_000)
    error = (await pay(client, merchant, status=402, amount="6000", payment_method="pm_card_visa"))[
        "error"
    ]
    assert error["decline_code"] == "fraudulent"
    legacy = await client.post(
        "/v1/charges",
        data={"amount": "6000", "currency": "inr", "source": "tok_visa"},
        headers=merchant.auth(),
    )
    assert legacy.status_code == 402, legacy.text
    assert legacy.json()["error"]["decline_code"] == "fraudulent"
