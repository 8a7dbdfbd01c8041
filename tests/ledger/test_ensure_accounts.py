"""``ensure_accounts`` remembers only accounts committed by an earlier transaction: a request that
made a merchant's accounts and has not committed yet (or rolls back) never lets a concurrent one
skip creating them and then find none."""

from __future__ import annotations

import asyncio

from beyondpay.db.session import Database
from beyondpay.ledger.domain import CreateTransferResult, NewAccount, Transfer
from beyondpay.ledger.service import ledger_service

ACCOUNTS = [
    NewAccount("ensure:a", "ensure", "inr", "test"),
    NewAccount("ensure:b", "ensure", "inr", "test"),
]
MOVE = Transfer(
    id="ensure:move",
    debit_account_id="ensure:a",
    credit_account_id="ensure:b",
    amount=1,
    currency="inr",
    code="test",
)


async def test_accounts_made_by_an_open_transaction_are_not_taken_as_made(
    database: Database,
) -> None:
    made = asyncio.Event()
    async with database.unit_of_work() as first:
        await ledger_service.ensure_accounts(first, ACCOUNTS)

        async def second_request() -> CreateTransferResult:
            made.set()
            async with database.unit_of_work() as second:
                # Waits for the first transaction's rows, then finds them: not skipped.
                await ledger_service.ensure_accounts(second, ACCOUNTS)
                [result] = await ledger_service.create_transfers(second, [MOVE])
                return result

        second = asyncio.create_task(second_request())
        await made.wait()
        await asyncio.sleep(0.3)
        assert not second.done()  # waiting on the first's uncommitted accounts
    assert await second is CreateTransferResult.ok


async def test_accounts_made_by_a_rolled_back_transaction_are_made_again(
    database: Database,
) -> None:
    try:
        async with database.unit_of_work() as session:
            await ledger_service.ensure_accounts(session, ACCOUNTS)
            raise RuntimeError("rolled back")
    except RuntimeError:
        pass
    async with database.unit_of_work() as session:
        await ledger_service.ensure_accounts(session, ACCOUNTS)
        [result] = await ledger_service.create_transfers(session, [MOVE])
    assert result is CreateTransferResult.ok
