"""Helpers for payouts' tests: a merchant with available funds, a verified bank account past
its cooling hold, a manual schedule; payouts over HTTP; events and ledger checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.ledger.service import ledger_service
from beyondpay.payments.tasks import release_funds
from beyondpay.settlement.payouts.schedules import payout_schedule_service
from tests.payments.support import balance_and_transactions, pay
from tests.settlement.bank_accounts.support import made
from tests.support import TestMerchant

PAID_IN = 10_000  # one ₹100 card payment
AVAILABLE = 9_800  # less the platform's fee


async def fund(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, amount: int = PAID_IN
) -> None:
    """A card payment of ``amount`` (₹100), its funds made available (2 days on)."""
    clock = FrozenClock(datetime.now(UTC) - timedelta(days=3))
    with use_clock(clock):
        await pay(client, merchant, amount=str(amount), payment_method="pm_card_visa")
    await release_funds(database)


async def end_hold(database: Database, merchant: TestMerchant) -> None:
    """The cooling period of the merchant's bank accounts over (as if a day had passed)."""
    async with database.unit_of_work() as session:
        await session.execute(
            text(
                "UPDATE payout_account_holds SET held_until = now() - interval '1 minute'"
                " WHERE merchant_id = :merchant"
            ),
            {"merchant": merchant.id},
        )


async def bank_account(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    database: Database,
    *,
    hold: bool = False,
    **fields: Any,
) -> dict[str, Any]:
    """A verified bank account (the merchant's default), its hold over unless ``hold``."""
    account = await made(client, merchant, **fields)
    if not hold:
        await end_hold(database, merchant)
    return account


async def manual(database: Database, merchant: TestMerchant, livemode: bool = False) -> None:
    async with database.unit_of_work() as session:
        await payout_schedule_service.update(session, merchant.id, livemode, interval="manual")


async def ready(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database, **fields: Any
) -> dict[str, Any]:
    """Funds, a manual schedule and a verified bank account: ready for manual payouts."""
    await fund(client, merchant, database)
    await manual(database, merchant)
    return await bank_account(client, merchant, database, **fields)


async def create(
    client: httpx.AsyncClient, merchant: TestMerchant, key: str = "sk_test", **params: Any
) -> httpx.Response:
    body = {"amount": "5000", "currency": "inr", **params}
    return await client.post("/v1/payouts", data=body, headers=merchant.auth(key))


async def created(
    client: httpx.AsyncClient, merchant: TestMerchant, **params: Any
) -> dict[str, Any]:
    response = await create(client, merchant, **params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def payout_events(database: Database, payout_id: str) -> list[str]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text(
                "SELECT type FROM events WHERE type LIKE 'payout.%'"
                " AND data->'object'->>'id' = :id ORDER BY inserted"
            ),
            {"id": payout_id},
        )
        return [str(row[0]) for row in rows]


async def consistent(client: httpx.AsyncClient, merchant: TestMerchant, database: Database) -> int:
    """The ledger verifies and the balance equals the sum of the balance transactions; the
    available balance."""
    async with database.unit_of_work() as session:
        report = await ledger_service.verify_journal(session)
    assert report.ok, report.problems
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums, (balance, sums)
    return balance["available"]
