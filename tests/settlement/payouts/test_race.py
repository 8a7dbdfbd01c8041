"""Payouts racing on real connections: two payouts of one balance never overdraw it (each more
than half: exactly one is made); a payout racing a dispute's withdrawal both land, the ledger
verifies and the balance is the sum of its balance transactions."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.payments.tasks import release_funds
from tests.disputes.support import DISPUTE_FEE, open_disputes
from tests.payments.support import get, pay
from tests.settlement.payouts.support import (
    AVAILABLE,
    bank_account,
    consistent,
    create,
    manual,
    ready,
)
from tests.support import TestMerchant

RACERS = 4


async def test_racing_payouts_of_one_balance_never_overdraw_it(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await ready(client, merchant, database)
    amount = AVAILABLE // 2 + 1
    responses = await asyncio.gather(
        *(create(client, merchant, amount=str(amount)) for _ in range(RACERS))
    )
    outcomes = Counter(
        "ok" if response.status_code == 200 else response.json()["error"]["code"]
        for response in responses
    )
    assert outcomes == {"ok": 1, "balance_insufficient": RACERS - 1}, outcomes
    assert await consistent(client, merchant, database) == AVAILABLE - amount
    assert len((await get(client, merchant, "/v1/payouts"))["data"]) == 1


async def test_a_payout_racing_a_dispute_both_land_consistently(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    with use_clock(FrozenClock(datetime.now(UTC) - timedelta(days=3))):
        disputed = await pay(client, merchant, payment_method="pm_card_createDispute")
        await pay(client, merchant, payment_method="pm_card_visa")
    assert disputed["status"] == "succeeded"
    await release_funds(database)
    await manual(database, merchant)
    await bank_account(client, merchant, database)
    available = 2 * AVAILABLE

    payout, _ = await asyncio.gather(
        create(client, merchant, amount="5000"), open_disputes(database)
    )
    assert payout.status_code == 200, payout.text
    assert payout.json()["status"] == "paid"
    (dispute,) = (await get(client, merchant, "/v1/disputes"))["data"]
    withdrawn = dispute["amount"] + DISPUTE_FEE
    assert await consistent(client, merchant, database) == available - 5_000 - withdrawn
