"""Races on real connections: two creates with one Idempotency-Key make one account; two
concurrent "make default" updates leave exactly one default."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.settlement.bank_accounts.support import accounts_path, create, made, rows
from tests.support import TestMerchant

RACERS = 4


async def test_one_idempotency_key_makes_one_account(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant
) -> None:
    answers = await asyncio.gather(
        *(create(client, merchant, headers={"Idempotency-Key": "same"}) for _ in range(RACERS))
    )
    statuses = sorted(answer.status_code for answer in answers)
    assert set(statuses) <= {200, 409} and 200 in statuses, [a.text for a in answers]
    made_ids = {answer.json()["id"] for answer in answers if answer.status_code == 200}
    assert len(made_ids) == 1
    assert [row["id"] for row in await rows(database, merchant)] == list(made_ids)


async def test_concurrent_default_changes_leave_one_default(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant
) -> None:
    await made(client, merchant)
    others = [
        await made(client, merchant, account_number=f"00098765432{index}")
        for index in range(RACERS)
    ]
    answers = await asyncio.gather(
        *(
            client.post(
                f"{accounts_path(merchant)}/{other['id']}",
                json={"default_for_currency": True},
                headers=merchant.auth(),
            )
            for other in others
        )
    )
    assert all(answer.status_code == 200 for answer in answers), [a.text for a in answers]
    async with database.unit_of_work() as session:
        defaults = await session.execute(
            text(
                "SELECT count(*) FROM bank_accounts WHERE merchant_id = :m"
                " AND default_for_currency AND deleted_at IS NULL"
            ),
            {"m": merchant.id},
        )
        assert defaults.scalar_one() == 1
