"""The batcher coalesces concurrent callers and gives each its own results."""

from __future__ import annotations

import asyncio

from beyondpay.db.session import Database
from beyondpay.ledger.batcher import LedgerBatcher
from beyondpay.ledger.domain import AccountFlags, NewAccount, Transfer, TransferFlags
from beyondpay.ledger.domain import CreateTransferResult as R
from beyondpay.ledger.journal import verify_database
from beyondpay.ledger.service import ledger_service


async def _accounts(database: Database, count: int) -> None:
    async with database.unit_of_work() as session:
        await ledger_service.create_accounts(
            session,
            [NewAccount("world", "platform", "inr", "world")]
            + [
                NewAccount(
                    f"w{i}", "wallets", "inr", "w", AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
                )
                for i in range(count)
            ],
        )


async def test_concurrent_callers_are_coalesced(database: Database, database_url: str) -> None:
    await _accounts(database, 4)
    async with LedgerBatcher(database_url) as batcher:
        results = await asyncio.gather(
            *(
                batcher.submit([Transfer(f"t{i}", "world", f"w{i % 4}", i + 1, "inr", "deposit")])
                for i in range(400)
            )
        )
        assert all(result == [R.ok] for result in results)
        assert batcher.batches_written < 100  # 400 callers, far fewer transactions
        # Each caller hears its own outcome, also when the batch mixes outcomes.
        mixed = await asyncio.gather(
            batcher.submit([Transfer("t0", "world", "w0", 1, "inr", "deposit")]),
            batcher.submit([Transfer("x", "w1", "w2", 10**9, "inr", "pay")]),
            batcher.submit([Transfer("y", "w1", "w2", 1, "inr", "pay")]),
        )
    assert mixed == [[R.exists], [R.exceeds_credits], [R.ok]]
    async with database.unit_of_work() as session:
        accounts = await ledger_service.get_accounts(session, ["w0", "w1", "w2", "w3"])
    assert sum(a.credits_posted - a.debits_posted for a in accounts.values()) == sum(range(1, 401))
    assert (await verify_database(database_url)).ok


async def test_an_open_chain_never_links_into_another_callers_transfers(
    database: Database, database_url: str
) -> None:
    await _accounts(database, 2)
    async with LedgerBatcher(database_url, batch_wait_s=0.05) as batcher:
        open_chain, other = await asyncio.gather(
            batcher.submit([Transfer("a", "world", "w0", 5, "inr", "d", TransferFlags.LINKED)]),
            batcher.submit([Transfer("b", "world", "w1", 5, "inr", "d")]),
        )
    assert open_chain == [R.linked_event_chain_open]
    assert other == [R.ok]


async def test_a_callers_linked_chain_stays_whole(database: Database, database_url: str) -> None:
    await _accounts(database, 2)
    async with LedgerBatcher(database_url) as batcher:
        chain = [
            Transfer("c1", "world", "w0", 5, "inr", "d", TransferFlags.LINKED),
            Transfer("c2", "w0", "w1", 6, "inr", "pay"),
        ]
        results = await asyncio.gather(
            batcher.submit(chain),
            *(batcher.submit([Transfer(f"n{i}", "world", "w1", 1, "inr", "d")]) for i in range(20)),
        )
    assert results[0] == [R.linked_event_failed, R.exceeds_credits]
    assert all(result == [R.ok] for result in results[1:])


async def test_a_full_queue_makes_callers_wait(database: Database, database_url: str) -> None:
    await _accounts(database, 1)
    async with LedgerBatcher(database_url, queue_requests_max=2, batch_transfers_max=1) as batcher:
        results = await asyncio.gather(
            *(batcher.submit([Transfer(f"q{i}", "world", "w0", 1, "inr", "d")]) for i in range(30))
        )
    assert results == [[R.ok]] * 30
