"""Test clocks with the official ``stripe`` SDK over real HTTP: a customer on a clock pays, the
clock is advanced three days, and the payment's funds are available. The server runs the
worker, so the advance runs as a background job, as it would in production; the SDK polls the
clock until it is ready, as Stripe's documentation tells integrations to."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Final

import pytest
import stripe

from beyondpay.kit.settings import Settings
from tests.compat.server import new_merchant, sdk_client, serving
from tests.support import TEST_RING_TEXT, TestMerchant

WAIT_S: Final = 20.0
POLL_S: Final = 0.1
DAY_S: Final = 86_400


@pytest.fixture(scope="module")
def clocks_server_url(compat_database_url: str) -> Iterator[str]:
    settings = Settings(secret_keys=TEST_RING_TEXT, rate_limit_test_per_key="1000/second")
    with serving(settings, compat_database_url, run_worker=True) as url:
        yield url


@pytest.fixture
async def owner(compat_database_url: str) -> AsyncIterator[TestMerchant]:
    yield await new_merchant(compat_database_url)


@pytest.fixture
def client(clocks_server_url: str, owner: TestMerchant) -> stripe.StripeClient:
    return sdk_client(clocks_server_url, owner.keys["sk_test"])


def _until_ready(client: stripe.StripeClient, clock_id: str) -> Any:
    deadline = time.monotonic() + WAIT_S
    while True:
        clock = client.v1.test_helpers.test_clocks.retrieve(clock_id)
        if clock.status != "advancing" or time.monotonic() > deadline:
            return clock
        time.sleep(POLL_S)


def _inr(amounts: list[Any]) -> int:
    return sum(item.amount for item in amounts if item.currency == "inr")


def test_a_clock_advanced_three_days_makes_a_payments_funds_available(
    client: stripe.StripeClient,
) -> None:
    now_s = int(time.time())
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": now_s, "name": "Payout"})
    assert isinstance(clock, stripe.test_helpers.TestClock)
    assert clock.id.startswith("clock_") and clock.status == "ready"
    customer = client.v1.customers.create({"name": "Asha", "test_clock": clock.id})
    assert customer.test_clock == clock.id
    intent = client.v1.payment_intents.create(
        {
            "amount": 10_000,
            "currency": "inr",
            "customer": customer.id,
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    assert intent.status == "succeeded" and intent.created == now_s
    charge = client.v1.charges.retrieve(str(intent.latest_charge))
    transaction = client.v1.balance_transactions.retrieve(str(charge.balance_transaction))
    assert transaction.status == "pending"
    before = client.v1.balance.retrieve()

    advancing = client.v1.test_helpers.test_clocks.advance(
        clock.id, {"frozen_time": now_s + 3 * DAY_S}
    )
    assert advancing.status == "advancing"
    assert advancing.status_details.advancing is not None
    assert advancing.status_details.advancing.target_frozen_time == now_s + 3 * DAY_S
    ready = _until_ready(client, clock.id)
    assert ready.status == "ready" and ready.frozen_time == now_s + 3 * DAY_S

    after = client.v1.balance.retrieve()
    assert _inr(after.available) == _inr(before.available) + transaction.net
    assert _inr(after.pending) == _inr(before.pending) - transaction.net
    available = client.v1.balance_transactions.retrieve(transaction.id)
    assert available.status == "available"
    types = [event.type for event in client.v1.events.list({"limit": 100}).data]
    for type in ("created", "advancing", "ready"):
        assert f"test_helpers.test_clock.{type}" in types


def test_listing_deleting_and_a_live_key_refused(
    client: stripe.StripeClient, clocks_server_url: str, owner: TestMerchant
) -> None:
    clock = client.v1.test_helpers.test_clocks.create({"frozen_time": 1_577_836_800})
    listed = client.v1.test_helpers.test_clocks.list({"limit": 10})
    assert [item.id for item in listed.data] == [clock.id]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.test_helpers.test_clocks.advance(clock.id, {"frozen_time": 1_577_836_799})
    assert refused.value.param == "frozen_time"
    deleted = client.v1.test_helpers.test_clocks.delete(clock.id)
    assert deleted.deleted is True
    live = sdk_client(clocks_server_url, owner.keys["sk_live"])
    with pytest.raises(stripe.InvalidRequestError) as live_refused:
        live.v1.test_helpers.test_clocks.create({"frozen_time": 1_577_836_800})
    assert live_refused.value.code == "test_mode_only"
