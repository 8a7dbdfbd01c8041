"""Helpers for payment tests over HTTP: paying, delivering the sandbox rails' callbacks, and
reading the merchant's balance and balance transactions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, get_clock, use_clock
from beyondpay.rails.tasks import deliver_callback_on
from tests.support import TestMerchant

CALLBACKS_AFTER: Final = timedelta(minutes=5)


async def post(
    client: httpx.AsyncClient, merchant: TestMerchant, path: str, **params: Any
) -> httpx.Response:
    return await client.post(path, data=params, headers=merchant.auth())


async def pay(
    client: httpx.AsyncClient, merchant: TestMerchant, status: int = 200, **params: Any
) -> dict[str, Any]:
    """Creates and confirms an intent (₹100 in INR unless told); checks the HTTP status."""
    body = {"amount": "10000", "currency": "inr", "confirm": "true", **params}
    response = await post(client, merchant, "/v1/payment_intents", **body)
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def get(client: httpx.AsyncClient, merchant: TestMerchant, path: str, **query: Any) -> Any:
    response = await client.get(path, params=query, headers=merchant.auth())
    assert response.status_code == 200, response.text
    return response.json()


async def deliver_callbacks(database: Database, after: timedelta = CALLBACKS_AFTER) -> int:
    """Runs every sandbox callback job queued so far, as the worker would (each once), as if
    ``after`` had passed: the sandbox payer has answered by then."""
    async with database.unit_of_work() as session:
        rows = (
            await session.execute(
                text(
                    "UPDATE procrastinate_jobs SET status = 'succeeded'"
                    " WHERE task_name = 'rails:deliver_callback' AND status = 'todo'"
                    " RETURNING args->>'reference', (args->>'delivery')::int"
                )
            )
        ).all()
    with use_clock(FrozenClock(get_clock().now() + after)):
        for reference, delivery in rows:
            await deliver_callback_on(database, str(reference), int(delivery))
    return len(rows)


async def balance_and_transactions(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> tuple[dict[str, int], dict[str, int]]:
    """(balance by status, sum of balance transaction nets by status), in INR."""
    balance = await get(client, merchant, "/v1/balance")
    by_status = {
        status: sum(item["amount"] for item in balance[status] if item["currency"] == "inr")
        for status in ("available", "pending")
    }
    sums = {"available": 0, "pending": 0}
    transactions = await get(client, merchant, "/v1/balance_transactions", limit=100)
    assert not transactions["has_more"]
    for item in transactions["data"]:
        sums[item["status"]] += item["net"]
    return by_status, sums
