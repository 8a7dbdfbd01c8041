"""The ledger service on real PostgreSQL: effects, holds, expiry, reads and the journal."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.ledger.domain import (
    AccountFlags,
    CreateAccountResult,
    NewAccount,
    Transfer,
    TransferFlags,
)
from beyondpay.ledger.domain import CreateTransferResult as R
from beyondpay.ledger.journal import verify_journal
from beyondpay.ledger.service import ledger_service

WALLET = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS


async def _accounts(database: Database) -> None:
    async with database.unit_of_work() as session:
        results = await ledger_service.create_accounts(
            session,
            [
                NewAccount("world", "platform", "inr", "world"),
                NewAccount("alice", "merchant:m1:test", "inr", "available_balance", WALLET),
                NewAccount("bob", "merchant:m2:test", "inr", "available_balance", WALLET),
                NewAccount("usd_wallet", "platform", "usd", "available_balance", WALLET),
            ],
        )
    assert results == [CreateAccountResult.ok] * 4


async def _transfer(database: Database, *transfers: Transfer) -> list[R]:
    async with database.unit_of_work() as session:
        return await ledger_service.create_transfers(session, list(transfers))


async def _balances(database: Database, *ids: str) -> dict[str, tuple[int, int, int, int]]:
    async with database.unit_of_work() as session:
        accounts = await ledger_service.get_accounts(session, list(ids))
    return {
        key: (a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted)
        for key, a in accounts.items()
    }


async def _verify(database: Database) -> None:
    async with database.unit_of_work() as session:
        report = await verify_journal(session)
    assert report.ok, report.problems


def fund(transfer_id: str, account: str, amount: int) -> Transfer:
    return Transfer(transfer_id, "world", account, amount, "inr", "deposit")


async def test_create_accounts_is_idempotent_and_reports_differences(database: Database) -> None:
    await _accounts(database)
    async with database.unit_of_work() as session:
        results = await ledger_service.create_accounts(
            session,
            [
                NewAccount("alice", "merchant:m1:test", "inr", "available_balance", WALLET),
                NewAccount("alice", "merchant:m1:test", "usd", "available_balance", WALLET),
                NewAccount("bad id!", "platform", "inr", "x"),
                NewAccount("both", "platform", "inr", "x", AccountFlags(3)),
                NewAccount("carol", "platform", "xyz", "x"),
            ],
        )
    assert results == [
        CreateAccountResult.exists,
        CreateAccountResult.exists_with_different_currency,
        CreateAccountResult.id_invalid,
        CreateAccountResult.flags_are_mutually_exclusive,
        CreateAccountResult.currency_invalid,
    ]


async def test_plain_transfer_moves_money_once(database: Database) -> None:
    await _accounts(database)
    assert await _transfer(database, fund("t1", "alice", 500)) == [R.ok]
    assert await _transfer(database, fund("t1", "alice", 500)) == [R.exists]
    assert await _transfer(database, fund("t1", "alice", 501)) == [R.exists_with_different_amount]
    assert (await _balances(database, "alice"))["alice"] == (0, 0, 0, 500)
    assert await _transfer(database, Transfer("t2", "alice", "bob", 600, "inr", "pay")) == [
        R.exceeds_credits
    ]
    assert await _transfer(database, Transfer("t3", "alice", "usd_wallet", 1, "inr", "pay")) == [
        R.currency_mismatch
    ]
    await _verify(database)


async def test_two_phase_post_for_less_releases_the_rest(database: Database) -> None:
    await _accounts(database)
    await _transfer(database, fund("f", "alice", 1000))
    hold = Transfer("h", "alice", "bob", 700, "inr", "hold", TransferFlags.PENDING)
    assert await _transfer(database, hold) == [R.ok]
    balances = await _balances(database, "alice", "bob")
    assert balances["alice"] == (700, 0, 0, 1000)
    assert balances["bob"] == (0, 0, 700, 0)
    post = Transfer("p", amount=400, flags=TransferFlags.POST_PENDING, pending_id="h")
    assert await _transfer(database, post) == [R.ok]
    assert (await _balances(database, "alice"))["alice"] == (0, 400, 0, 1000)
    again = Transfer("p2", flags=TransferFlags.VOID_PENDING, pending_id="h")
    assert await _transfer(database, again) == [R.pending_transfer_already_posted]
    await _verify(database)


async def test_linked_chain_fails_as_a_whole(database: Database) -> None:
    await _accounts(database)
    await _transfer(database, fund("f", "alice", 100))
    results = await _transfer(
        database,
        Transfer("a", "alice", "bob", 60, "inr", "pay", TransferFlags.LINKED),
        Transfer("b", "alice", "bob", 60, "inr", "pay"),
        Transfer("c", "alice", "bob", 10, "inr", "pay"),
    )
    assert results == [R.linked_event_failed, R.exceeds_credits, R.ok]
    assert (await _balances(database, "alice"))["alice"] == (0, 10, 0, 100)
    await _verify(database)


async def test_expired_hold_is_released_on_read_then_voided_once(database: Database) -> None:
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    with use_clock(clock):
        await _accounts(database)
        await _transfer(database, fund("f", "alice", 100))
        hold = Transfer("h", "alice", "bob", 80, "inr", "hold", TransferFlags.PENDING, timeout_s=60)
        assert await _transfer(database, hold) == [R.ok]
        clock.advance(61)
        # Not yet voided, already released for readers and for new transfers.
        assert (await _balances(database, "alice"))["alice"] == (0, 0, 0, 100)
        post = Transfer("p", flags=TransferFlags.POST_PENDING, pending_id="h")
        assert await _transfer(database, post) == [R.pending_transfer_expired]
        async with database.unit_of_work() as session:
            assert await ledger_service.expire_holds(session) == 0  # the post's batch voided it
        async with database.unit_of_work() as session:
            entries = await ledger_service.account_transfers(session, "alice")
        assert [entry.transfer.id for entry in entries] == ["f", "h", "h.expired"]
    await _verify(database)


async def test_expiry_job_voids_exactly_once(database: Database) -> None:
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    with use_clock(clock):
        await _accounts(database)
        await _transfer(database, fund("f", "alice", 100))
        holds = [
            Transfer(f"h{i}", "alice", "bob", 10, "inr", "hold", TransferFlags.PENDING, timeout_s=5)
            for i in range(3)
        ]
        await _transfer(database, *holds)
        clock.advance(6)
        async with database.unit_of_work() as session:
            assert await ledger_service.expire_holds(session) == 3
        async with database.unit_of_work() as session:
            assert await ledger_service.expire_holds(session) == 0
        assert (await _balances(database, "alice"))["alice"] == (0, 0, 0, 100)
    await _verify(database)


async def test_balance_history_and_balance_at(database: Database) -> None:
    await _accounts(database)
    await _transfer(database, fund("f1", "alice", 100), fund("f2", "alice", 50))
    await _transfer(database, Transfer("x", "alice", "bob", 30, "inr", "pay"))
    async with database.unit_of_work() as session:
        history = await ledger_service.balance_history(session, "alice")
        at_f2 = await ledger_service.balance_at(session, "alice", transfer_id="f2")
        page = await ledger_service.balance_history(
            session, "alice", after_position=history[0].position, limit=1
        )
    assert [(h.transfer_id, h.credits_posted, h.debits_posted) for h in history] == [
        ("f1", 100, 0),
        ("f2", 150, 0),
        ("x", 150, 30),
    ]
    assert at_f2 is not None and at_f2.credits_posted == 150
    assert [h.transfer_id for h in page] == ["f2"]


async def test_balancing_debit_moves_at_most_what_is_there(database: Database) -> None:
    await _accounts(database)
    await _transfer(database, fund("f", "alice", 70))
    sweep = Transfer("s", "alice", "bob", 100, "inr", "sweep", TransferFlags.BALANCING_DEBIT)
    assert await _transfer(database, sweep) == [R.ok]
    balances = await _balances(database, "alice", "bob")
    assert balances["alice"] == (0, 70, 0, 70)
    assert balances["bob"] == (0, 0, 0, 70)
    await _verify(database)


@pytest.mark.parametrize(
    ("transfer", "result"),
    [
        (Transfer("", "alice", "bob", 1, "inr", "c"), R.id_invalid),
        (Transfer("a.b", "alice", "bob", 1, "inr", "c"), R.id_invalid),
        (
            Transfer("x", "alice", "bob", 1, "inr", "c", TransferFlags(6)),
            R.flags_are_mutually_exclusive,
        ),
        (Transfer("x", "alice", "bob", 1, "inr", "c", pending_id="h"), R.pending_id_must_be_empty),
        (Transfer("x", flags=TransferFlags.POST_PENDING), R.pending_id_must_not_be_empty),
        (
            Transfer("x", "alice", "bob", 1, "inr", "c", timeout_s=5),
            R.timeout_reserved_for_pending_transfer,
        ),
        (Transfer("x", "alice", "bob", 0, "inr", "c"), R.amount_must_be_positive),
        (Transfer("x", "alice", "bob", 2**63, "inr", "c"), R.amount_too_large),
        (Transfer("x", "alice", "bob", 1, "inr", None), R.code_invalid),
        (Transfer("x", "alice", "bob", 1, "zzz", "c"), R.currency_invalid),
        (Transfer("x", "alice", "alice", 1, "inr", "c"), R.accounts_must_be_different),
        (Transfer("x", "nobody", "bob", 1, "inr", "c"), R.debit_account_not_found),
        (Transfer("x", "alice", "nobody", 1, "inr", "c"), R.credit_account_not_found),
        (
            Transfer("x", flags=TransferFlags.VOID_PENDING, pending_id="nope"),
            R.pending_transfer_not_found,
        ),
    ],
)
async def test_invalid_transfers_name_the_rule(
    database: Database, transfer: Transfer, result: R
) -> None:
    await _accounts(database)
    assert await _transfer(database, transfer) == [result]


async def test_metadata_round_trips_exactly_and_verifies(database: Database) -> None:
    await _accounts(database)
    metadata = {"note": 'back\\slash "quoted"\ttab\nnewline ü €', "n": [1, {"x": None}]}
    transfer = Transfer("m", "world", "alice", 5, "inr", "deposit", metadata=metadata)
    assert await _transfer(database, transfer) == [R.ok]
    async with database.unit_of_work() as session:
        entries = await ledger_service.account_transfers(session, "alice")
    assert entries[0].transfer.metadata == metadata
    assert await _transfer(database, transfer) == [R.exists]
    changed = Transfer("m", "world", "alice", 5, "inr", "deposit", metadata={"note": "other"})
    assert await _transfer(database, changed) == [R.exists_with_different_metadata]
    await _verify(database)


async def test_expiry_job_voids_due_holds_through_the_job_connection(
    database: Database, database_url: str
) -> None:
    from beyondpay.app import create_job_app
    from beyondpay.ledger.tasks import expire_due_holds

    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    with use_clock(clock):
        await _accounts(database)
        await _transfer(database, fund("f", "alice", 100))
        hold = Transfer("h", "alice", "bob", 40, "inr", "hold", TransferFlags.PENDING, timeout_s=1)
        await _transfer(database, hold)
        job_app = create_job_app(database_url)
        assert "ledger:expire_holds" in job_app.tasks
        async with job_app.open_async():
            assert await expire_due_holds(job_app.connector) == 0  # not yet due
            clock.advance(2)
            assert await expire_due_holds(job_app.connector) == 1
            assert await expire_due_holds(job_app.connector) == 0  # running twice is harmless
    await _verify(database)


async def test_a_batch_voids_expired_holds_it_meets_on_either_side(database: Database) -> None:
    """An expired hold is voided (both its accounts locked) by a batch touching only one side."""
    clock = FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    with use_clock(clock):
        await _accounts(database)
        await _transfer(database, fund("f", "alice", 100))
        hold = Transfer(
            "h", "alice", "world", 60, "inr", "hold", TransferFlags.PENDING, timeout_s=1
        )
        assert await _transfer(database, hold) == [R.ok]
        clock.advance(2)
        assert await _transfer(database, Transfer("t", "world", "bob", 1, "inr", "pay")) == [R.ok]
        async with database.unit_of_work() as session:
            entries = await ledger_service.account_transfers(session, "alice")
            assert await ledger_service.expire_holds(session) == 0
        assert [entry.transfer.id for entry in entries] == ["f", "h", "h.expired"]
    await _verify(database)


async def test_a_hold_opened_and_resolved_in_one_batch_leaves_no_open_hold(
    database: Database,
) -> None:
    await _accounts(database)
    await _transfer(database, fund("f", "alice", 100))
    results = await _transfer(
        database,
        Transfer("h", "alice", "bob", 60, "inr", "hold", TransferFlags.PENDING, timeout_s=30),
        Transfer("v", flags=TransferFlags.VOID_PENDING, pending_id="h"),
    )
    assert results == [R.ok, R.ok]
    await _verify(database)  # verify compares the open-holds index with the journal
