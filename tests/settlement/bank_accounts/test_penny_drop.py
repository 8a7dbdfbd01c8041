"""The penny drop through the sandbox bank: each magic account number's outcome, a deemed
answer finished by the job, a bank that never answers, and the job run twice."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import Database
from beyondpay.merchants.domain import Caller, KeyKind, MerchantStatus
from beyondpay.settlement.bank_accounts.domain import VALIDATION_ATTEMPTS_MAX
from beyondpay.settlement.bank_accounts.schemas import ExternalAccountCreateParams
from beyondpay.settlement.bank_accounts.service import bank_account_service
from beyondpay.settlement.bank_accounts.tasks import validate_on
from tests.settlement.bank_accounts.support import BANK, accounts_path, event_types, made, rows
from tests.support import TestMerchant


@pytest.mark.parametrize(
    ("account_number", "holder", "status", "failure_code"),
    [
        ("000123456789", "Asha Rao", "verified", None),
        ("000555555550", "Asha Rao Kumar", "verified", None),  # the bank holds "A R KUMAR"
        ("000222222227", "Asha Rao", "verification_failed", "name_mismatch"),
        ("000111111113", "Asha Rao", "errored", "account_closed"),
        ("000111111116", "Asha Rao", "errored", "no_account"),
    ],
)
async def test_the_banks_answer_sets_the_status(
    client: httpx.AsyncClient,
    database: Database,
    merchant: TestMerchant,
    account_number: str,
    holder: str,
    status: str,
    failure_code: str | None,
) -> None:
    account = await made(
        client, merchant, account_number=account_number, account_holder_name=holder
    )
    assert account["status"] == status
    [row] = await rows(database, merchant)
    assert row["validation_failure_code"] == failure_code
    async with database.unit_of_work() as session:
        asked = await session.execute(
            text(
                "SELECT amount_minor, attempts FROM sandbox_account_validations"
                " WHERE request_id = :id"
            ),
            {"id": account["id"]},
        )
        amount, attempts = asked.one()
    assert attempts == 1  # the request id is the account's: one penny drop
    assert amount == (100 if failure_code in (None, "name_mismatch") else 0)
    assert await event_types(database, merchant) == [
        "account.external_account.created",
        "account.external_account.updated",
    ]


async def _previous_status(database: Database, merchant: TestMerchant) -> list[Any]:
    async with database.unit_of_work() as session:
        result = await session.execute(
            text(
                "SELECT data->'previous_attributes'->>'status' FROM events"
                " WHERE merchant_id = :m AND type = 'account.external_account.updated'"
            ),
            {"m": merchant.id},
        )
        return [row[0] for row in result]


async def test_a_deemed_answer_is_finished_by_the_job(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant
) -> None:
    account = await made(client, merchant, account_number="000333333335")
    assert account["status"] == "new"  # the bank did not answer in time
    await validate_on(database, account["id"])
    path = f"{accounts_path(merchant)}/{account['id']}"
    assert (await client.get(path, headers=merchant.auth())).json()["status"] == "verified"
    assert await _previous_status(database, merchant) == ["new"]
    # The job run again (a worker killed after its work) changes nothing, announces nothing.
    await validate_on(database, account["id"])
    assert await event_types(database, merchant) == [
        "account.external_account.created",
        "account.external_account.updated",
    ]
    async with database.unit_of_work() as session:
        asked = await session.execute(
            text(
                "SELECT amount_minor, attempts FROM sandbox_account_validations"
                " WHERE request_id = :id"
            ),
            {"id": account["id"]},
        )
        assert tuple(asked.one()) == (100, 2)  # asked twice, one rupee credited


async def test_a_bank_that_never_answers_errors_the_account_after_the_last_try(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant
) -> None:
    account = await made(client, merchant, account_number="000444444440")
    assert account["status"] == "new"
    async with database.unit_of_work() as session:
        queued = await session.execute(
            text(
                "SELECT count(*) FROM procrastinate_jobs"
                " WHERE task_name LIKE '%validate_bank_account'"
                " AND args->>'bank_account_id' = :id AND status = 'todo'"
            ),
            {"id": account["id"]},
        )
        assert queued.scalar_one() == 1  # the retry (and the recovery) is queued with the account
    for _ in range(VALIDATION_ATTEMPTS_MAX - 2):
        await validate_on(database, account["id"])
    [row] = await rows(database, merchant)
    assert row["status"] == "new" and row["validation_attempts"] == VALIDATION_ATTEMPTS_MAX - 1
    await validate_on(database, account["id"])
    [row] = await rows(database, merchant)
    assert row["status"] == "errored" and row["validation_failure_code"] == "bank_timeout"
    await validate_on(database, account["id"])  # a late job: nothing more
    [row] = await rows(database, merchant)
    assert row["validation_attempts"] == VALIDATION_ATTEMPTS_MAX


class _Died(Exception):
    """The process stopped right after the first phase committed."""


class _DiesAfterCheckpoint:
    recovery_point = "started"

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def checkpoint(self, recovery_point: str) -> None:
        await self.session.commit()
        raise _Died(recovery_point)


async def test_an_account_left_new_by_a_dead_request_is_finished_by_its_job(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant
) -> None:
    del client  # the API's start configured the module (its key ring)
    caller = Caller(
        key_id="key_test",
        kind=KeyKind.secret,
        livemode=False,
        merchant_id=merchant.id,
        merchant_status=MerchantStatus.active,
    )
    params = ExternalAccountCreateParams.model_validate({"external_account": BANK})
    async with database.sessionmaker() as session:
        with pytest.raises(_Died):
            await bank_account_service.create(
                session, caller, merchant.id, params, _DiesAfterCheckpoint(session)
            )
    [row] = await rows(database, merchant)
    assert row["status"] == "new"  # committed with its recovery job, the bank never asked
    await validate_on(database, row["id"])
    [row] = await rows(database, merchant)
    assert row["status"] == "verified"
    async with database.unit_of_work() as session:
        asked = await session.execute(
            text("SELECT attempts FROM sandbox_account_validations WHERE request_id = :id"),
            {"id": row["id"]},
        )
        assert asked.scalar_one() == 1
