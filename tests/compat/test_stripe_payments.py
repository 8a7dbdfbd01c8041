"""The official ``stripe`` SDK paying on the sandbox rails over real HTTP: cards (with manual
capture, a decline and 3-D Secure), UPI collect (approved, declined, expired, pending then
resolved by a status check), refunds, and the balance adding up. The server runs the worker,
so the sandbox payer's callbacks arrive as they would in production."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
import pytest
import stripe

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.kit.settings import Settings
from beyondpay.payments.tasks import reconcile_due_charges
from tests.compat.server import CLIENT_TIMEOUT_S, new_merchant, sdk_client, serving
from tests.payments.support import deliver_callbacks
from tests.support import TEST_RING_TEXT, TestMerchant

WAIT_S: Final = 20.0
POLL_S: Final = 0.1


@pytest.fixture(scope="module")
def payments_server_url(compat_database_url: str) -> Iterator[str]:
    settings = Settings(
        secret_keys=TEST_RING_TEXT,
        rate_limit_test_per_key="1000/second",
        sandbox_upi_approval_delay_s=0.2,
    )
    with serving(settings, compat_database_url, run_worker=True) as url:
        yield url


@pytest.fixture
async def payer(compat_database_url: str) -> AsyncIterator[TestMerchant]:
    yield await new_merchant(compat_database_url)


@pytest.fixture
def client(payments_server_url: str, payer: TestMerchant) -> stripe.StripeClient:
    return sdk_client(payments_server_url, payer.keys["sk_test"])


def _wait_for(client: stripe.StripeClient, intent_id: str, statuses: set[str]) -> Any:
    deadline = time.monotonic() + WAIT_S
    while True:
        intent = client.v1.payment_intents.retrieve(intent_id)
        if intent.status in statuses or time.monotonic() > deadline:
            return intent
        time.sleep(POLL_S)


def _upi(client: stripe.StripeClient, vpa: str) -> Any:
    return client.v1.payment_intents.create(
        {
            "amount": 50_000,
            "currency": "inr",
            "payment_method_types": ["upi"],
            "payment_method_data": {"type": "upi", "upi": {"vpa": vpa}},
            "confirm": True,
        }
    )


def test_card_happy_path(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(
        {"amount": 2_000, "currency": "inr", "payment_method": "pm_card_visa", "confirm": True}
    )
    assert isinstance(intent, stripe.PaymentIntent)
    assert intent.status == "succeeded" and intent.amount_received == 2_000
    charge = client.v1.charges.retrieve(
        str(intent.latest_charge), {"expand": ["balance_transaction"]}
    )
    assert charge.paid and charge.captured
    transaction = charge.balance_transaction
    assert isinstance(transaction, stripe.BalanceTransaction)
    assert (transaction.amount, transaction.fee, transaction.net) == (2_000, 40, 1_960)


def test_manual_capture_of_part(client: stripe.StripeClient) -> None:
    intent = client.v1.payment_intents.create(
        {
            "amount": 1_000,
            "currency": "inr",
            "payment_method": "pm_card_visa",
            "capture_method": "manual",
            "confirm": True,
        }
    )
    assert intent.status == "requires_capture" and intent.amount_capturable == 1_000
    captured = client.v1.payment_intents.capture(intent.id, {"amount_to_capture": 600})
    assert captured.status == "succeeded" and captured.amount_received == 600
    charge = client.v1.charges.retrieve(str(captured.latest_charge))
    assert charge.amount_captured == 600


def test_a_decline_raises_card_error_with_its_decline_code(client: stripe.StripeClient) -> None:
    with pytest.raises(stripe.CardError) as raised:
        client.v1.payment_intents.create(
            {
                "amount": 1_000,
                "currency": "inr",
                "payment_method": "pm_card_chargeDeclined",
                "confirm": True,
            }
        )
    error = raised.value
    assert error.code == "card_declined" and error.http_status == 402
    assert error.error is not None and error.error.decline_code == "generic_decline"
    assert error.error.payment_intent is not None
    assert error.error.payment_intent.status == "requires_payment_method"


def test_three_d_secure_completed_over_http(
    client: stripe.StripeClient, payments_server_url: str
) -> None:
    intent = client.v1.payment_intents.create(
        {
            "amount": 3_000,
            "currency": "inr",
            "payment_method": "pm_card_threeDSecure2Required",
            "return_url": "https://shop.example/return",
        }
    )
    intent = client.v1.payment_intents.confirm(intent.id)
    assert intent.status == "requires_action"
    assert intent.next_action is not None and intent.next_action.type == "redirect_to_url"
    page = httpx.URL(intent.next_action.redirect_to_url.url)  # type: ignore[union-attr]
    url = payments_server_url + page.raw_path.decode()
    assert httpx.get(url, timeout=CLIENT_TIMEOUT_S).status_code == 200
    done = httpx.post(url, data={"outcome": "complete"}, timeout=CLIENT_TIMEOUT_S)
    assert done.status_code == 303
    assert client.v1.payment_intents.retrieve(intent.id).status == "succeeded"


def test_upi_collect_approved_and_declined(client: stripe.StripeClient) -> None:
    approved = _upi(client, "success@sandbox")
    declined = _upi(client, "failure@sandbox")
    for intent in (approved, declined):
        assert intent.status == "requires_action"
        assert intent.next_action is not None and intent.next_action.type == "upi_collect"
    final = {"succeeded", "requires_payment_method"}
    assert _wait_for(client, approved.id, final).status == "succeeded"
    after = _wait_for(client, declined.id, final)
    assert after.status == "requires_payment_method"
    assert after.last_payment_error is not None
    assert after.last_payment_error.network_decline_code == "ZA"


async def test_upi_collect_expired(client: stripe.StripeClient, compat_database_url: str) -> None:
    database = Database(compat_database_url, pool_size=1, max_overflow=1)
    try:
        intent = _upi(client, "expired@sandbox")
        assert intent.status == "requires_action"
        # The collect stays open 5 minutes: the sandbox's callback is delivered as if they passed.
        await deliver_callbacks(database, after=timedelta(minutes=6))
        after = client.v1.payment_intents.retrieve(intent.id)
    finally:
        await database.dispose()
    assert after.status == "requires_payment_method"
    assert after.last_payment_error is not None
    assert after.last_payment_error.network_decline_code == "U69"


async def test_upi_pending_then_resolved_by_a_status_check(
    client: stripe.StripeClient, compat_database_url: str
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    database = Database(compat_database_url, pool_size=1, max_overflow=1)
    try:
        with use_clock(clock):
            intent = _upi(client, "pending@sandbox")
            waiting = _wait_for(client, intent.id, {"processing"})
            assert waiting.status == "processing"
            clock.advance(timedelta(seconds=91))  # NPCI: no status check before 90 s
            await reconcile_due_charges(database)
            assert _wait_for(client, intent.id, {"succeeded"}).status == "succeeded"
    finally:
        await database.dispose()


def test_partial_refunds_then_an_over_refund_and_the_balance_adds_up(
    client: stripe.StripeClient,
) -> None:
    intent = client.v1.payment_intents.create(
        {"amount": 1_000, "currency": "inr", "payment_method": "pm_card_visa", "confirm": True}
    )
    for amount in (300, 500):
        refund = client.v1.refunds.create({"payment_intent": intent.id, "amount": amount})
        assert isinstance(refund, stripe.Refund) and refund.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.refunds.create({"payment_intent": intent.id, "amount": 201})
    assert raised.value.param == "amount"
    balance = client.v1.balance.retrieve()
    totals = {"available": 0, "pending": 0}
    for transaction in client.v1.balance_transactions.list({"limit": 100}).auto_paging_iter():
        totals[transaction.status] += transaction.net
    assert totals["available"] == sum(item.amount for item in balance.available)
    assert totals["pending"] == sum(item.amount for item in balance.pending)
    assert totals == {"available": -800, "pending": 980}
