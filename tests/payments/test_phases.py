"""No row of ours stays locked while a rail answers: a confirmation commits, asks the rail outside
any transaction, and applies the answer after. Meanwhile the intent is readable, busy for other
writes (``lock_timeout``), and other merchants' payments go through; 200 copies of one request
make one charge."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Final

import httpx
import pytest
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.settings import Settings
from tests.payments.support import balance_and_transactions
from tests.support import TestMerchant, app_client, make_merchant

CARD_LATENCY_MS: Final = 2_000
# What "not delayed" means on a loaded 2-core machine: well under the rail's latency.
NOT_DELAYED_S: Final = 1.0
SAME_KEY_COPIES: Final = 200


@pytest.fixture
async def slow_card_client(
    database_url: str, api_settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """The API with a card network that takes CARD_LATENCY_MS to answer (UPI answers at once)."""
    async with app_client(
        database_url, api_settings, sandbox_card_latency_ms=str(CARD_LATENCY_MS)
    ) as http:
        yield http


async def _in_flight(database: Database, merchant: TestMerchant) -> str:
    """The intent whose charge is being asked of the rail, once its first phase committed."""
    for _ in range(400):
        async with database.unit_of_work() as session:
            found = (
                await session.execute(
                    text(
                        "SELECT payment_intent_id FROM charges"
                        " WHERE merchant_id = :merchant AND rail_operation = 'authorize'"
                    ),
                    {"merchant": merchant.id},
                )
            ).scalar()
        if found is not None:
            return str(found)
        await asyncio.sleep(0.01)
    raise AssertionError("the confirmation never reached its rail")


async def test_an_intent_asking_its_rail_holds_no_lock(
    slow_card_client: httpx.AsyncClient, database: Database, merchant: TestMerchant
) -> None:
    http = slow_card_client
    confirming = asyncio.create_task(
        http.post(
            "/v1/payment_intents",
            data={
                "amount": "10000",
                "currency": "inr",
                "confirm": "true",
                "payment_method": "pm_card_visa",
            },
            headers={**merchant.auth(), "Idempotency-Key": "slow"},
        )
    )
    intent_id = await _in_flight(database, merchant)
    started = time.monotonic()
    read = await http.get(f"/v1/payment_intents/{intent_id}", headers=merchant.auth())
    canceled = await http.post(f"/v1/payment_intents/{intent_id}/cancel", headers=merchant.auth())
    duplicate = await http.post(
        "/v1/payment_intents",
        data={
            "amount": "10000",
            "currency": "inr",
            "confirm": "true",
            "payment_method": "pm_card_visa",
        },
        headers={**merchant.auth(), "Idempotency-Key": "slow"},
    )
    # A second merchant pays by UPI (an instant rail) while the first's card is asked.
    other = await make_merchant(database, name="Other")
    collect = await http.post(
        "/v1/payment_intents",
        data={
            "amount": "10000",
            "currency": "inr",
            "confirm": "true",
            "payment_method_types[0]": "upi",
            "payment_method_data[type]": "upi",
            "payment_method_data[upi][vpa]": "success@sandbox",
        },
        headers=other.auth(),
    )
    elapsed_s = time.monotonic() - started
    assert not confirming.done()
    assert elapsed_s < NOT_DELAYED_S, elapsed_s
    assert read.status_code == 200 and read.json()["status"] == "requires_confirmation"
    assert canceled.status_code == 429, canceled.text
    assert canceled.json()["error"]["code"] == "lock_timeout"
    assert canceled.headers["stripe-should-retry"] == "true"
    assert duplicate.status_code == 409, duplicate.text
    assert collect.status_code == 200 and collect.json()["status"] == "requires_action"
    confirmed = await confirming
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "succeeded"
    retried = await http.post(f"/v1/payment_intents/{intent_id}/cancel", headers=merchant.auth())
    assert retried.status_code == 400
    assert retried.json()["error"]["code"] == "payment_intent_unexpected_state"


async def test_copies_of_one_request_make_one_charge(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant
) -> None:
    data = {
        "amount": "10000",
        "currency": "inr",
        "confirm": "true",
        "payment_method": "pm_card_visa",
    }
    headers = {**merchant.auth(), "Idempotency-Key": "one-payment"}
    responses = await asyncio.gather(
        *(
            client.post("/v1/payment_intents", data=data, headers=headers)
            for _ in range(SAME_KEY_COPIES)
        )
    )
    statuses = Counter(response.status_code for response in responses)
    assert set(statuses) <= {200, 409}, statuses
    answered = {response.content for response in responses if response.status_code == 200}
    assert len(answered) == 1, "every 200 is the one payment"
    [body] = answered
    assert b'"status":"succeeded"' in body
    async with database.unit_of_work() as session:
        charges = (
            await session.execute(
                text("SELECT count(*) FROM charges WHERE merchant_id = :merchant"),
                {"merchant": merchant.id},
            )
        ).scalar_one()
    assert charges == 1
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": 0, "pending": 10_000 - 200}
