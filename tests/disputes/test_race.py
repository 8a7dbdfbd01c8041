"""Evidence is submitted once under concurrency: submissions of one dispute are serialized on
the dispute's row, so racing ones (on real connections of the pool) make one submission, one
decision and one reinstatement; the others are refused, naming the evidence."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx

from beyondpay.db.session import Database
from tests.disputes.support import (
    AMOUNT,
    PROCESSING_FEE,
    disputed_card_payment,
    event_types,
)
from tests.payments.support import balance_and_transactions, get
from tests.support import TestMerchant

SUBMISSIONS_RACING = 8


async def test_racing_evidence_submissions_make_one_submission(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    _, dispute = await disputed_card_payment(client, merchant, database)

    async def submit(index: int) -> httpx.Response:
        return await client.post(
            f"/v1/disputes/{dispute['id']}",
            data={"evidence[uncategorized_text]": "winning_evidence"},
            headers={**merchant.auth(), "Idempotency-Key": f"race-{index}"},
        )

    responses = await asyncio.gather(*(submit(index) for index in range(SUBMISSIONS_RACING)))
    outcomes = Counter(
        "ok"
        if response.status_code == 200
        else (response.json()["error"]["code"], response.json()["error"]["param"])
        for response in responses
    )
    assert outcomes == {
        "ok": 1,
        ("dispute_unexpected_state", "evidence"): SUBMISSIONS_RACING - 1,
    }, outcomes
    after = await get(client, merchant, f"/v1/disputes/{dispute['id']}")
    assert after["status"] == "won"
    assert after["evidence_details"]["submission_count"] == 1
    assert len(after["balance_transactions"]) == 2
    events = Counter(await event_types(database, dispute["id"]))
    assert events["charge.dispute.funds_reinstated"] == 1
    assert events["charge.dispute.closed"] == 1
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": 0, "pending": AMOUNT - PROCESSING_FEE}


async def test_a_close_racing_a_submission_leaves_one_outcome(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    _, dispute = await disputed_card_payment(client, merchant, database)
    submitted, closed = await asyncio.gather(
        client.post(
            f"/v1/disputes/{dispute['id']}",
            data={"evidence[uncategorized_text]": "winning_evidence"},
            headers=merchant.auth(),
        ),
        client.post(f"/v1/disputes/{dispute['id']}/close", headers=merchant.auth()),
    )
    assert sorted([submitted.status_code, closed.status_code]) == [200, 400]
    after = await get(client, merchant, f"/v1/disputes/{dispute['id']}")
    assert after["status"] == ("won" if submitted.status_code == 200 else "lost")
    assert Counter(await event_types(database, dispute["id"]))["charge.dispute.closed"] == 1
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums
