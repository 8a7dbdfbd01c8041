"""A refund holds no row of ours while its rail answers: the refund is committed pending, with
its money held from the merchant's balance, before the rail is asked. A request that dies
between the phases is finished once — by the refund status job, or by the retry of the same
Idempotency-Key once the lease has passed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import httpx
import pytest
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.kit.settings import Settings
from beyondpay.ledger.service import ledger_service
from beyondpay.refunds.tasks import reconcile_due_refunds
from tests.payments.support import balance_and_transactions, get, pay
from tests.support import TestMerchant, app_client

CARD_LATENCY_MS: Final = 1_000
# Past the refund's first status check and the idempotency lease (``rail_answer_wait_s``).
AFTER_THE_LEASE: Final = timedelta(seconds=31)


@pytest.fixture
async def slow_card_client(
    database_url: str, api_settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """The API with a card network that takes CARD_LATENCY_MS to answer."""
    async with app_client(
        database_url, api_settings, sandbox_card_latency_ms=str(CARD_LATENCY_MS)
    ) as http:
        yield http


async def _refund_pending(database: Database, charge_id: str) -> str:
    """The refund of ``charge_id`` once its first phase committed."""
    for _ in range(500):
        async with database.unit_of_work() as session:
            found = (
                await session.execute(
                    text("SELECT id FROM refunds WHERE charge_id = :charge AND status = 'pending'"),
                    {"charge": charge_id},
                )
            ).scalar()
        if found is not None:
            return str(found)
        await asyncio.sleep(0.01)
    raise AssertionError("the refund never reached its rail")


async def _killed_refund(
    http: httpx.AsyncClient, merchant: TestMerchant, database: Database, key: str
) -> tuple[dict[str, Any], str]:
    """A paid intent, and the id of its refund whose request died while the rail was asked."""
    intent = await pay(http, merchant, amount="10000", payment_method="pm_card_visa")
    refunding = asyncio.create_task(
        http.post(
            "/v1/refunds",
            data={"payment_intent": intent["id"], "amount": "2500"},
            headers={**merchant.auth(), "Idempotency-Key": key},
        )
    )
    refund_id = await _refund_pending(database, intent["latest_charge"])
    refunding.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await refunding
    return intent, refund_id


async def _rail_refunds(database: Database) -> int:
    async with database.unit_of_work() as session:
        return int(
            (
                await session.execute(
                    text("SELECT count(*) FROM sandbox_rail_operations WHERE operation = 'refund'")
                )
            ).scalar_one()
        )


async def _checked(client: httpx.AsyncClient, merchant: TestMerchant, database: Database) -> None:
    """The merchant's balance is the sum of its balance transactions; the ledger verifies."""
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums
    async with database.unit_of_work() as session:
        report = await ledger_service.verify_journal(session)
    assert report.ok, report


async def test_a_refund_killed_between_its_phases_is_finished_once_by_the_status_job(
    slow_card_client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    http = slow_card_client
    intent, refund_id = await _killed_refund(http, merchant, database, "refund-killed")
    seen = await get(http, merchant, f"/v1/refunds/{refund_id}")
    assert seen["status"] == "pending"  # held from the balance, not yet answered
    balance, sums = await balance_and_transactions(http, merchant)
    assert balance == sums
    assert await reconcile_due_refunds(database) == 0  # not before its first check is due
    with use_clock(FrozenClock(datetime.now(UTC) + AFTER_THE_LEASE)):
        assert await reconcile_due_refunds(database) == 1
        assert await reconcile_due_refunds(database) == 0
    refund = await get(http, merchant, f"/v1/refunds/{refund_id}")
    assert refund["status"] == "succeeded"
    charge = await get(http, merchant, f"/v1/charges/{intent['latest_charge']}")
    assert charge["amount_refunded"] == 2_500
    assert await _rail_refunds(database) == 1
    await _checked(http, merchant, database)


async def test_a_refund_retried_with_its_key_after_the_lease_answers_the_same_refund(
    slow_card_client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    http = slow_card_client
    intent, refund_id = await _killed_refund(http, merchant, database, "refund-retried")
    data = {"payment_intent": intent["id"], "amount": "2500"}
    headers = {**merchant.auth(), "Idempotency-Key": "refund-retried"}
    within = await http.post("/v1/refunds", data=data, headers=headers)
    assert within.status_code == 409, within.text  # taken to be still running
    with use_clock(FrozenClock(datetime.now(UTC) + AFTER_THE_LEASE)):
        resumed = await http.post("/v1/refunds", data=data, headers=headers)
        replayed = await http.post("/v1/refunds", data=data, headers=headers)
    assert resumed.status_code == 200, resumed.text
    assert (resumed.json()["id"], resumed.json()["status"]) == (refund_id, "succeeded")
    assert replayed.content == resumed.content
    refunds = await get(http, merchant, "/v1/refunds", payment_intent=intent["id"])
    assert [item["id"] for item in refunds["data"]] == [refund_id]
    charge = await get(http, merchant, f"/v1/charges/{intent['latest_charge']}")
    assert charge["amount_refunded"] == 2_500
    assert await _rail_refunds(database) == 1
    await _checked(http, merchant, database)
