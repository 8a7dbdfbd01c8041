"""Payment intents over HTTP on the sandbox rails: every path a merchant integrates, with the
ledger checked after each test (tests/conftest.py verifies it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.payments.tasks import reconcile_due_charges, release_funds
from tests.payments.support import (
    balance_and_transactions,
    deliver_callbacks,
    get,
    pay,
    post,
)
from tests.support import TestMerchant
from tests.test_clocks.support import advance, new_clock, run_advances

DAY_S = 86_400


async def _events(database: Database, object_id: str) -> list[str]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text("SELECT type FROM events WHERE object_id = :id ORDER BY inserted"),
            {"id": object_id},
        )
        return [str(row) for row in rows.scalars()]


async def test_a_card_payment_succeeds_with_its_charge_fee_and_events(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    intent = await pay(client, merchant, payment_method="pm_card_visa")
    assert intent["status"] == "succeeded"
    assert intent["amount_received"] == 10_000 and intent["amount_capturable"] == 0
    charge = await get(
        client,
        merchant,
        f"/v1/charges/{intent['latest_charge']}",
        **{"expand[]": "balance_transaction"},
    )
    assert charge["status"] == "succeeded" and charge["captured"] and charge["paid"]
    assert charge["payment_method_details"]["card"]["last4"] == "4242"
    transaction = charge["balance_transaction"]
    assert (transaction["amount"], transaction["fee"], transaction["net"]) == (10_000, 200, 9_800)
    assert transaction["status"] == "pending"
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": 0, "pending": 9_800}
    assert await _events(database, intent["id"]) == [
        "payment_intent.created",
        "payment_intent.succeeded",
    ]
    assert await _events(database, charge["id"]) == ["charge.succeeded"]


async def test_a_manual_capture_of_part_releases_the_rest(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    intent = await pay(client, merchant, payment_method="pm_card_visa", capture_method="manual")
    assert intent["status"] == "requires_capture" and intent["amount_capturable"] == 10_000
    balance, _ = await balance_and_transactions(client, merchant)
    assert balance["pending"] == 0  # a hold is not yet the merchant's
    too_much = await post(
        client, merchant, f"/v1/payment_intents/{intent['id']}/capture", amount_to_capture=10_001
    )
    assert too_much.status_code == 400 and too_much.json()["error"]["param"] == "amount_to_capture"
    captured = await post(
        client, merchant, f"/v1/payment_intents/{intent['id']}/capture", amount_to_capture=6_000
    )
    assert captured.status_code == 200, captured.text
    body = captured.json()
    assert body["status"] == "succeeded"
    assert (body["amount_received"], body["amount_capturable"]) == (6_000, 0)
    charge = await get(client, merchant, f"/v1/charges/{body['latest_charge']}")
    assert (charge["amount"], charge["amount_captured"]) == (10_000, 6_000)
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": 0, "pending": 6_000 - 120}
    async with database.unit_of_work() as session:
        held = (
            await session.execute(
                text(
                    "SELECT credits_pending FROM ledger_accounts"
                    " WHERE id LIKE 'merchant:%:pending:inr'"
                )
            )
        ).scalar_one()
    assert held == 0, "the uncaptured 4,000 is released"
    again = await post(client, merchant, f"/v1/payment_intents/{intent['id']}/capture")
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "payment_intent_unexpected_state"


async def test_canceling_an_authorization_voids_its_hold(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    intent = await pay(client, merchant, payment_method="pm_card_visa", capture_method="manual")
    canceled = await post(
        client,
        merchant,
        f"/v1/payment_intents/{intent['id']}/cancel",
        cancellation_reason="requested_by_customer",
    )
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["status"] == "canceled"
    assert canceled.json()["cancellation_reason"] == "requested_by_customer"
    async with database.unit_of_work() as session:
        voids = (
            await session.execute(
                text("SELECT count(*) FROM ledger_transfers WHERE id LIKE '%\\:void'")
            )
        ).scalar_one()
    assert voids == 1
    assert "payment_intent.canceled" in await _events(database, intent["id"])


async def test_a_declined_card_answers_402_and_the_intent_asks_for_another_method(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    error = (
        await pay(
            client, merchant, status=402, payment_method="pm_card_chargeDeclinedInsufficientFunds"
        )
    )["error"]
    assert error["type"] == "card_error" and error["code"] == "card_declined"
    assert error["decline_code"] == "insufficient_funds"
    intent = error["payment_intent"]
    assert intent["status"] == "requires_payment_method"
    assert intent["last_payment_error"]["decline_code"] == "insufficient_funds"
    charge = await get(client, merchant, f"/v1/charges/{error['charge']}")
    assert charge["status"] == "failed" and charge["failure_code"] == "card_declined"
    assert await _events(database, intent["id"]) == [
        "payment_intent.created",
        "payment_intent.payment_failed",
    ]
    # The merchant can try again with another card: the intent succeeds with a second charge.
    retried = await post(
        client,
        merchant,
        f"/v1/payment_intents/{intent['id']}/confirm",
        payment_method="pm_card_visa",
    )
    assert retried.status_code == 200 and retried.json()["status"] == "succeeded"
    assert retried.json()["latest_charge"] != error["charge"]


async def test_three_d_secure_completed_on_the_challenge_page(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await pay(
        client,
        merchant,
        payment_method="pm_card_threeDSecure2Required",
        return_url="https://shop.example/done",
    )
    assert intent["status"] == "requires_action"
    action = intent["next_action"]
    assert action["type"] == "redirect_to_url"
    assert action["redirect_to_url"]["return_url"] == "https://shop.example/done"
    page_path = httpx.URL(action["redirect_to_url"]["url"]).path
    page = await client.get(page_path)
    assert page.status_code == 200 and "authentication" in page.text.lower()
    done = await client.post(page_path, data={"outcome": "complete"})
    assert done.status_code == 303
    assert done.headers["location"].startswith("https://shop.example/done")
    after = await get(client, merchant, f"/v1/payment_intents/{intent['id']}")
    assert after["status"] == "succeeded" and after["next_action"] is None
    # The page cannot be used twice.
    await client.post(page_path, data={"outcome": "fail"})
    assert (await get(client, merchant, f"/v1/payment_intents/{intent['id']}"))[
        "status"
    ] == "succeeded"


async def test_three_d_secure_failed_on_the_challenge_page(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await pay(client, merchant, payment_method="pm_card_threeDSecure2Required")
    page_path = httpx.URL(intent["next_action"]["redirect_to_url"]["url"]).path
    await client.post(page_path, data={"outcome": "fail"})
    after = await get(client, merchant, f"/v1/payment_intents/{intent['id']}")
    assert after["status"] == "requires_payment_method"
    assert after["last_payment_error"]["type"] == "card_error"


async def _upi(client: httpx.AsyncClient, merchant: TestMerchant, vpa: str) -> dict[str, object]:
    return await pay(
        client,
        merchant,
        **{
            "payment_method_types[0]": "upi",
            "payment_method_data[type]": "upi",
            "payment_method_data[upi][vpa]": vpa,
        },
    )


async def test_upi_collect_approved_by_the_payer(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    intent = await _upi(client, merchant, "success@sandbox")
    assert intent["status"] == "requires_action"
    assert intent["next_action"]["type"] == "upi_collect"  # type: ignore[index]
    assert await deliver_callbacks(database) >= 1
    after = await get(client, merchant, f"/v1/payment_intents/{intent['id']}")
    assert after["status"] == "succeeded" and after["amount_received"] == 10_000
    charge = await get(client, merchant, f"/v1/charges/{after['latest_charge']}")
    assert len(charge["rail"]["rrn"]) == 12 if "rrn" in charge["rail"] else True


async def test_upi_collect_declined_and_expired(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    declined = await _upi(client, merchant, "failure@sandbox")
    expired = await _upi(client, merchant, "expired@sandbox")
    await deliver_callbacks(database)
    for intent, code in ((declined, "ZA"), (expired, "U69")):
        after = await get(client, merchant, f"/v1/payment_intents/{intent['id']}")
        assert after["status"] == "requires_payment_method"
        assert after["last_payment_error"]["network_decline_code"] == code
        assert after["last_payment_error"]["type"] == "invalid_request_error"


async def test_a_duplicate_callback_changes_nothing(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    intent = await _upi(client, merchant, "duplicate@sandbox")
    for _ in range(3):
        await deliver_callbacks(database)
    after = await get(client, merchant, f"/v1/payment_intents/{intent['id']}")
    assert after["status"] == "succeeded"
    assert (await _events(database, intent["id"])).count("payment_intent.succeeded") == 1
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": 0, "pending": 9_800}


async def test_upi_pending_resolved_by_a_status_check_after_npci_pacing(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    with use_clock(clock):
        intent = await _upi(client, merchant, "pending@sandbox")
        await deliver_callbacks(database)
        waiting = await get(client, merchant, f"/v1/payment_intents/{intent['id']}")
        assert waiting["status"] in ("processing", "requires_action")
        assert await reconcile_due_charges(database) == 0, "no check before 90 s"
        clock.advance(timedelta(seconds=91))
        assert await reconcile_due_charges(database) == 1
        after = await get(client, merchant, f"/v1/payment_intents/{intent['id']}")
    assert after["status"] == "succeeded"


async def test_upi_timeout_fails_after_the_last_check_and_releases_the_money(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    with use_clock(clock):
        intent = await _upi(client, merchant, "timeout@sandbox")
        await deliver_callbacks(database)
        for _ in range(10):
            clock.advance(timedelta(hours=1))
            await reconcile_due_charges(database)
        after = await get(client, merchant, f"/v1/payment_intents/{intent['id']}")
    assert after["status"] == "requires_payment_method"
    assert after["last_payment_error"]["code"] == "payment_intent_payment_attempt_expired"
    async with database.unit_of_work() as session:
        waiting = (
            await session.execute(text("SELECT count(*) FROM charges WHERE status = 'pending'"))
        ).scalar_one()
    assert waiting == 0
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": 0, "pending": 0}


async def test_partial_refunds_then_an_over_refund_is_refused(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    intent = await pay(client, merchant, payment_method="pm_card_visa")
    for amount in (3_000, 4_000):
        refund = await post(
            client,
            merchant,
            "/v1/refunds",
            payment_intent=intent["id"],
            amount=amount,
            reason="requested_by_customer",
        )
        assert refund.status_code == 200, refund.text
        assert refund.json()["status"] == "succeeded" and refund.json()["amount"] == amount
    over = await post(client, merchant, "/v1/refunds", charge=intent["latest_charge"], amount=3_001)
    assert over.status_code == 400 and over.json()["error"]["param"] == "amount"
    rest = await post(client, merchant, "/v1/refunds", charge=intent["latest_charge"])
    assert rest.status_code == 200 and rest.json()["amount"] == 3_000
    again = await post(client, merchant, "/v1/refunds", charge=intent["latest_charge"], amount=1)
    assert again.json()["error"]["code"] == "charge_already_refunded"
    charge = await get(client, merchant, f"/v1/charges/{intent['latest_charge']}")
    assert charge["refunded"] and charge["amount_refunded"] == 10_000
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": -10_000, "pending": 9_800}
    refunds = await get(client, merchant, "/v1/refunds", charge=intent["latest_charge"])
    assert [item["amount"] for item in refunds["data"]] == [3_000, 4_000, 3_000]


async def test_a_refund_that_fails_on_the_rail_gives_the_money_back(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    intent = await pay(
        client,
        merchant,
        **{
            "payment_method_data[type]": "card",
            "payment_method_data[card][number]": "4000000000005126",
            "payment_method_data[card][exp_month]": "12",
            "payment_method_data[card][exp_year]": "2034",
        },
    )
    refund = (
        await post(client, merchant, "/v1/refunds", payment_intent=intent["id"], amount=2_500)
    ).json()
    assert refund["status"] == "pending"
    await deliver_callbacks(database)
    clock = FrozenClock(datetime.now(UTC) + timedelta(days=1))
    with use_clock(clock):
        await deliver_callbacks(database)
    after = await get(client, merchant, f"/v1/refunds/{refund['id']}")
    assert after["status"] == "failed" and after["failure_balance_transaction"]
    charge = await get(client, merchant, f"/v1/charges/{intent['latest_charge']}")
    assert charge["amount_refunded"] == 0
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": 0, "pending": 9_800}
    assert "refund.failed" in await _events(database, refund["id"])


async def test_funds_become_available_after_the_delay(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    """As a merchant sees it: a test clock, advanced through the API (Stripe's way to move a
    customer's time), not the process clock."""
    now_s = int(datetime.now(UTC).timestamp())
    clock = await new_clock(client, merchant, now_s)
    customer = await post(client, merchant, "/v1/customers", test_clock=clock["id"])
    await pay(client, merchant, customer=customer.json()["id"], payment_method="pm_card_visa")
    assert (await advance(client, merchant, clock["id"], now_s + 2 * DAY_S - 1)).status_code == 200
    await run_advances(database)
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": 0, "pending": 9_800}
    assert (await advance(client, merchant, clock["id"], now_s + 2 * DAY_S)).status_code == 200
    await run_advances(database)
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": 9_800, "pending": 0}


async def test_the_release_job_makes_due_funds_available_in_real_time(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    """The periodic job's own timing (payments not on a clock), and its idempotence."""
    clock = FrozenClock(datetime.now(UTC))
    with use_clock(clock):
        await pay(client, merchant, payment_method="pm_card_visa")
        assert await release_funds(database) == 0
        clock.advance(timedelta(days=2, seconds=1))
        assert await release_funds(database) == 1
        assert await release_funds(database) == 0
        balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": 9_800, "pending": 0}


async def test_bad_input_names_the_parameter_and_writes_nothing(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    cases = [
        ({"amount": "0", "currency": "inr"}, "amount"),
        ({"amount": "100", "currency": "xyz"}, "currency"),
        ({"amount": "100", "currency": "inr", "colour": "red"}, "colour"),
        ({"amount": "100", "currency": "inr", "payment_method": "pm_nope"}, "payment_method"),
        ({"amount": "100", "currency": "inr", "capture_method": "later"}, "capture_method"),
        (
            {
                "amount": "100",
                "currency": "inr",
                "payment_method_types[0]": "upi",
                "payment_method": "pm_card_visa",
            },
            "payment_method",
        ),
    ]
    for params, param in cases:
        response = await post(client, merchant, "/v1/payment_intents", **params)
        assert response.status_code in (400, 404), (params, response.text)
        assert response.json()["error"]["param"] == param, (params, response.text)
    async with database.unit_of_work() as session:
        written = (await session.execute(text("SELECT count(*) FROM payment_intents"))).scalar_one()
    assert written == 0
    missing = await post(client, merchant, "/v1/payment_intents", amount=100, currency="inr")
    confirm = await post(client, merchant, f"/v1/payment_intents/{missing.json()['id']}/confirm")
    assert confirm.status_code == 400 and confirm.json()["error"]["param"] == "payment_method"


async def test_another_merchant_sees_none_of_it(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    from tests.support import make_merchant

    intent = await pay(client, merchant, payment_method="pm_card_visa")
    other = await make_merchant(database, name="Other")
    for path in (
        f"/v1/payment_intents/{intent['id']}",
        f"/v1/charges/{intent['latest_charge']}",
    ):
        response = await client.get(path, headers=other.auth())
        assert response.status_code == 404
    refund = await post(client, other, "/v1/refunds", charge=intent["latest_charge"])
    assert refund.status_code == 404
    live = await client.get(f"/v1/payment_intents/{intent['id']}", headers=merchant.auth("sk_live"))
    assert live.status_code == 404
