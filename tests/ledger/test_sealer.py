"""Transfers are written unsealed and numbered and hash-chained after commit by the sealer:
no writer locks a journal head, and every ledger's sealed journal is still 1..N, chained."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import pytest

from beyondpay.db.session import Database
from beyondpay.db.urls import libpq_url
from beyondpay.ledger.domain import CreateTransferResult as R
from beyondpay.ledger.domain import NewAccount, Transfer, TransferFlags
from beyondpay.ledger.journal import (
    GENESIS_HASH,
    SEAL_BATCH_TRANSFERS_MAX,
    seal_on,
    verify_database,
)
from beyondpay.ledger.service import apply_transfers, create_transfers_on, ledger_service

PLATFORM = "platform:test"
MERCHANTS = [f"m{index}" for index in range(4)]
# The second writer must commit well within this while the first still holds its transaction.
UNBLOCKED_WITHIN_S = 2.0
WRITERS = 8
BATCHES_PER_WRITER = 12


def _clearing(merchant: str) -> str:
    return f"platform:test:rail_clearing:card:inr:{merchant}"


def _pending(merchant: str) -> str:
    return f"merchant:{merchant}:test:pending:inr"


async def _chart(database: Database) -> None:
    """Payments' shape: each merchant's rail-clearing account in the one platform ledger."""
    async with database.unit_of_work() as session:
        await ledger_service.create_accounts(
            session,
            [NewAccount(_clearing(m), PLATFORM, "inr", "rail_clearing") for m in MERCHANTS]
            + [NewAccount(_pending(m), f"merchant:{m}:test", "inr", "pending") for m in MERCHANTS],
        )


@asynccontextmanager
async def _connection(database_url: str) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    async with await psycopg.AsyncConnection.connect(libpq_url(database_url)) as connection:
        yield connection


def _hold(transfer_id: str, merchant: str, amount: int = 100) -> Transfer:
    """An authorization's hold: rail clearing (platform ledger) → the merchant's pending."""
    flags = TransferFlags.PENDING
    return Transfer(transfer_id, _clearing(merchant), _pending(merchant), amount, "inr", "h", flags)


async def _journal(database_url: str) -> dict[str, list[tuple[str, int | None, int]]]:
    """Each ledger's transfers as (id, sequence, position), in sequence order (unsealed last)."""
    async with _connection(database_url) as connection:
        cursor = await connection.execute(
            "SELECT ledger, id, sequence, position FROM ledger_transfers"
            " ORDER BY ledger, sequence NULLS LAST, position"
        )
        journal: dict[str, list[tuple[str, int | None, int]]] = {}
        for ledger, transfer_id, sequence, position in await cursor.fetchall():
            journal.setdefault(ledger, []).append((transfer_id, sequence, position))
        return journal


async def test_an_open_transaction_on_the_platform_ledger_does_not_delay_another_merchant(
    database: Database, database_url: str
) -> None:
    """Two merchants' holds debit two accounts of the one platform ledger: the first stays
    open (as a payment's transaction does until it commits), the second commits at once."""
    await _chart(database)
    async with _connection(database_url) as first, _connection(database_url) as second:
        async with first.transaction():
            assert await apply_transfers(first, [_hold("a:hold", "m0")]) == [R.ok]
            # Had the second waited on a lock the first holds, it would fail here, not hang.
            await second.execute(f"SET lock_timeout = '{int(UNBLOCKED_WITHIN_S * 1000)}ms'")
            started = asyncio.get_running_loop().time()
            async with second.transaction():
                assert await apply_transfers(second, [_hold("b:hold", "m1")]) == [R.ok]
            elapsed_s = asyncio.get_running_loop().time() - started
            assert elapsed_s < UNBLOCKED_WITHIN_S
            assert first.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        # Both committed by the time the sealer runs: numbered in position order.
        assert await seal_on(second) == 2
    journal = await _journal(database_url)
    assert [(tid, sequence) for tid, sequence, _ in journal[PLATFORM]] == [
        ("a:hold", 1),
        ("b:hold", 2),
    ]


async def test_a_transfer_committed_after_a_later_one_was_sealed_is_sealed_after_it(
    database: Database, database_url: str
) -> None:
    await _chart(database)
    async with (
        _connection(database_url) as early,
        _connection(database_url) as late,
        _connection(database_url) as sealer,
    ):
        async with early.transaction():
            await apply_transfers(early, [_hold("early:hold", "m0")])  # the lower position
            async with late.transaction():
                await apply_transfers(late, [_hold("late:hold", "m1")])
            assert await seal_on(sealer) == 1  # "late" only: "early" is not committed
            # A sealer finds nothing it may number while "early" is still open.
            assert await seal_on(sealer) == 0
        assert await seal_on(sealer) == 1
    [(first, one, late_position), (second, two, early_position)] = (await _journal(database_url))[
        PLATFORM
    ]
    assert (first, one, second, two) == ("late:hold", 1, "early:hold", 2)
    assert early_position < late_position  # sequence order differs from position order
    report = await verify_database(database_url)
    assert report.ok, report.problems
    assert report.unsealed == 0


async def _write_round(database_url: str, writer: int, rolled_back: list[str]) -> list[str]:
    """One writer's batches on random merchants; every third batch rolls back."""
    rng = random.Random(writer)
    committed: list[str] = []
    async with _connection(database_url) as connection:
        for batch in range(BATCHES_PER_WRITER):
            merchant = rng.choice(MERCHANTS)
            ids = [f"w{writer}b{batch}t{index}" for index in range(rng.randint(1, 3))]
            transfers = [
                Transfer(
                    i, _clearing(merchant), _pending(merchant), rng.randint(1, 500), "inr", "pay"
                )
                for i in ids
            ]
            if batch % 3 == 2:
                with pytest.raises(_Abandoned):
                    async with connection.transaction():
                        await apply_transfers(connection, transfers)
                        raise _Abandoned
                rolled_back.extend(ids)
            else:
                async with connection.transaction():
                    assert await create_transfers_on(connection, transfers) == [R.ok] * len(ids)
                committed.extend(ids)
            await asyncio.sleep(0)
    return committed


class _Abandoned(Exception):
    pass


async def test_concurrent_writers_with_rollbacks_and_a_sealer_leave_no_gap(
    database: Database, database_url: str
) -> None:
    await _chart(database)
    rolled_back: list[str] = []
    writing = asyncio.gather(
        *(_write_round(database_url, writer, rolled_back) for writer in range(WRITERS))
    )
    sealed_while_writing = 0
    async with _connection(database_url) as sealer:
        while not writing.done():
            sealed_while_writing += await seal_on(sealer)
            await asyncio.sleep(0.01)
        committed = [tid for ids in await writing for tid in ids]
        sealed_after = await seal_on(sealer)
    assert sealed_while_writing + sealed_after == len(committed)
    assert rolled_back
    journal = await _journal(database_url)
    stored = {tid for entries in journal.values() for tid, _, _ in entries}
    assert stored == set(committed)
    for entries in journal.values():
        assert [sequence for _, sequence, _ in entries] == list(range(1, len(entries) + 1))
    report = await verify_database(database_url)
    assert report.ok, report.problems
    assert (report.transfers, report.unsealed) == (len(committed), 0)


async def test_two_sealers_racing_seal_each_transfer_once(
    database: Database, database_url: str
) -> None:
    await _chart(database)
    count = SEAL_BATCH_TRANSFERS_MAX + 500  # more than one batch, so the two interleave
    async with _connection(database_url) as writer:
        for start in range(0, count, 4_000):
            async with writer.transaction():
                await apply_transfers(
                    writer,
                    [
                        Transfer(f"t{i}", _clearing("m0"), _pending("m0"), 1, "inr", "pay")
                        for i in range(start, min(count, start + 4_000))
                    ],
                )
    async with (
        _connection(database_url) as holder,
        _connection(database_url) as one,
        _connection(database_url) as two,
    ):
        # Both sealers start while the platform ledger's head is held, so they meet on it.
        async with holder.transaction():
            await holder.execute(
                "SELECT 1 FROM ledger_heads WHERE ledger = %s FOR UPDATE", (PLATFORM,)
            )
            racing = asyncio.gather(seal_on(one), seal_on(two))
            await asyncio.sleep(0.5)
            assert not racing.done()
            waiting = await holder.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            assert await waiting.fetchone() == (2,)
        sealed = await racing
    assert sum(sealed) == count
    entries = (await _journal(database_url))[PLATFORM]
    assert [sequence for _, sequence, _ in entries] == list(range(1, count + 1))
    report = await verify_database(database_url)
    assert report.ok, report.problems


async def test_verify_counts_unsealed_transfers_and_checks_the_sealed_chain(
    database: Database, database_url: str
) -> None:
    await _chart(database)
    async with _connection(database_url) as connection:
        async with connection.transaction():
            await apply_transfers(connection, [_hold("one", "m0"), _hold("two", "m1")])
        assert await seal_on(connection) == 2
        async with connection.transaction():
            await apply_transfers(connection, [_hold("three", "m2")])
    report = await verify_database(database_url)
    assert report.ok, report.problems
    assert (report.transfers, report.unsealed) == (3, 1)
    sealed_first = await verify_database(database_url, seal_first=True)
    assert sealed_first.ok, sealed_first.problems
    assert (sealed_first.transfers, sealed_first.unsealed) == (3, 0)
    async with _connection(database_url) as connection:
        head = await (
            await connection.execute(
                "SELECT sequence, hash FROM ledger_heads WHERE ledger = %s", (PLATFORM,)
            )
        ).fetchone()
        last = await (
            await connection.execute(
                "SELECT hash FROM ledger_transfers WHERE ledger = %s AND sequence = 3",
                (PLATFORM,),
            )
        ).fetchone()
    assert head is not None and last is not None
    assert (head[0], bytes(head[1])) == (3, bytes(last[0]))
    assert bytes(head[1]) != GENESIS_HASH


async def test_the_worker_seals_soon_after_commit(database: Database, database_url: str) -> None:
    from beyondpay.app import running_worker

    await _chart(database)
    async with running_worker(database_url, concurrency=2):
        async with database.unit_of_work() as session:
            await ledger_service.create_transfers(session, [_hold("soon", "m0")])
        async with asyncio.timeout(10):
            while (await _journal(database_url))[PLATFORM][0][1] is None:
                await asyncio.sleep(0.05)
    assert (await _journal(database_url))[PLATFORM][0][:2] == ("soon", 1)


# The one UPDATE the table accepts: sealing an unsealed row, changing nothing else.
_SEAL_T1 = (
    "UPDATE ledger_transfers SET sequence = 99, prev_hash = '\\x00'::bytea,"
    " hash = '\\x01'::bytea{extra} WHERE id = %s"
)


@pytest.mark.parametrize(
    ("transfer_id", "statement"),
    [
        ("sealed", "UPDATE ledger_transfers SET amount = 1 WHERE id = %s"),
        ("unsealed", "UPDATE ledger_transfers SET amount = 1 WHERE id = %s"),
        ("sealed", _SEAL_T1.format(extra="")),  # sealing again
        (
            "sealed",
            "UPDATE ledger_transfers SET sequence = NULL, prev_hash = NULL,"
            " hash = NULL WHERE id = %s",
        ),  # unsealing
        ("unsealed", _SEAL_T1.format(extra=", amount = 1")),  # a seal that changes more
        ("unsealed", _SEAL_T1.format(extra=", metadata = '{\"x\": 1}'")),
        ("unsealed", "UPDATE ledger_transfers SET sequence = 99 WHERE id = %s"),  # half a seal
        ("unsealed", "DELETE FROM ledger_transfers WHERE id = %s"),
        ("sealed", "DELETE FROM ledger_transfers WHERE id = %s"),
    ],
)
async def test_the_journal_refuses_every_update_but_a_seal(
    database: Database, database_url: str, transfer_id: str, statement: str
) -> None:
    await _chart(database)
    async with _connection(database_url) as connection:
        async with connection.transaction():
            await apply_transfers(connection, [_hold("sealed", "m0")])
        await seal_on(connection)
        async with connection.transaction():
            await apply_transfers(connection, [_hold("unsealed", "m1")])
    with psycopg.connect(libpq_url(database_url)) as connection:
        with pytest.raises(
            (psycopg.errors.InsufficientPrivilege, psycopg.errors.CheckViolation),
            match=r"append-only|sealed_whole",
        ):
            connection.execute(statement, (transfer_id,))
        connection.rollback()
        # A seal alone is let through (what the sealer does; verify would then flag its hash).
        updated = connection.execute(_SEAL_T1.format(extra=""), ("unsealed",))
        assert updated.rowcount == 1
        connection.rollback()
