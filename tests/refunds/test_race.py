"""Over-refunding is impossible under concurrency: refunds of one charge are serialized on the
charge's row, so racing refunds of the last rupee make exactly as many as the charge holds."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.payments.support import balance_and_transactions, get, pay, post
from tests.support import TestMerchant

REFUNDS_RACING = 100


@pytest.mark.slow
async def test_a_hundred_concurrent_one_rupee_refunds_of_ten_rupees_make_exactly_ten(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    intent = await pay(client, merchant, amount="1000", payment_method="pm_card_visa")

    async def refund(index: int) -> httpx.Response:
        return await client.post(
            "/v1/refunds",
            data={"charge": intent["latest_charge"], "amount": "100"},
            headers={**merchant.auth(), "Idempotency-Key": f"race-{index}"},
        )

    responses = await asyncio.gather(*(refund(index) for index in range(REFUNDS_RACING)))
    outcomes = Counter(
        "ok" if response.status_code == 200 else response.json()["error"]["code"]
        for response in responses
    )
    assert outcomes["ok"] == 10, outcomes
    assert set(outcomes) <= {"ok", "charge_already_refunded"}, outcomes
    charge = await get(client, merchant, f"/v1/charges/{intent['latest_charge']}")
    assert charge["amount_refunded"] == 1_000 and charge["refunded"]
    async with database.unit_of_work() as session:
        refunded = (
            await session.execute(text("SELECT coalesce(sum(amount), 0) FROM refunds"))
        ).scalar_one()
        holds = (
            await session.execute(
                text(
                    "SELECT count(*) FROM ledger_transfers"
                    " WHERE code = 'refund' AND flags & 2 = 2"  # holds (pending transfers)
                )
            )
        ).scalar_one()
    assert int(refunded) == 1_000 and holds == 10
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums


async def test_a_retried_refund_with_its_idempotency_key_refunds_once(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await pay(client, merchant, payment_method="pm_card_visa")
    headers = {**merchant.auth(), "Idempotency-Key": "refund-once"}
    params = {"payment_intent": intent["id"], "amount": "500"}
    first = await client.post("/v1/refunds", data=params, headers=headers)
    second = await client.post("/v1/refunds", data=params, headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    refunds = await get(client, merchant, "/v1/refunds", payment_intent=intent["id"])
    assert len(refunds["data"]) == 1
    refused = await post(client, merchant, "/v1/refunds", payment_intent=intent["id"], amount=0)
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "amount"
