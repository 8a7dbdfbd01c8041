"""The journal is append-only, and tampering behind the trigger's back is caught by verify."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from typer.testing import CliRunner

from beyondpay.cli import cli
from beyondpay.db.session import Database, driver_connection
from beyondpay.db.urls import libpq_url
from beyondpay.ledger.domain import AccountFlags, NewAccount, Transfer, TransferFlags
from beyondpay.ledger.journal import seal_on, verify_database
from beyondpay.ledger.service import ledger_service


async def _journal(database: Database, *, sealed: bool = True) -> None:
    async with database.unit_of_work() as session:
        await ledger_service.create_accounts(
            session,
            [
                NewAccount("world", "platform", "inr", "world"),
                NewAccount(
                    "wallet",
                    "merchant:m:test",
                    "inr",
                    "w",
                    AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS,
                ),
                NewAccount("shop", "merchant:s:test", "inr", "w"),
            ],
        )
        await ledger_service.create_transfers(
            session,
            [
                Transfer("t1", "world", "wallet", 1000, "inr", "deposit"),
                Transfer("t2", "wallet", "shop", 300, "inr", "pay"),
                Transfer("t3", "wallet", "shop", 200, "inr", "hold", TransferFlags.PENDING),
                Transfer("t4", flags=TransferFlags.POST_PENDING, pending_id="t3", amount=150),
            ],
        )
    if sealed:
        async with database.unit_of_work() as session:
            assert await seal_on(await driver_connection(session)) == 4


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_transfers SET amount = 1 WHERE id = 't1'",
        "DELETE FROM ledger_transfers WHERE id = 't1'",
        "TRUNCATE ledger_transfers CASCADE",
    ],
)
async def test_journal_refuses_update_delete_truncate(
    database: Database, database_url: str, statement: str
) -> None:
    await _journal(database)
    with (
        psycopg.connect(libpq_url(database_url)) as connection,
        pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"),
    ):
        connection.execute(statement)


async def test_verify_is_clean_on_an_honest_journal(database: Database, database_url: str) -> None:
    await _journal(database)
    report = await verify_database(database_url)
    assert report.ok, report.problems
    assert (report.transfers, report.accounts, report.ledgers) == (4, 3, 3)


@pytest.mark.ledger_tampered
def test_cli_verify_passes_then_fails_after_tampering(database_url: str) -> None:
    async def seed() -> None:
        database = Database(database_url)
        try:
            await _journal(database, sealed=False)
        finally:
            await database.dispose()

    asyncio.run(seed())
    env = {"BEYONDPAY_DATABASE_URL": database_url}
    result = CliRunner().invoke(cli, ["ledger", "verify"], env=env)
    assert result.exit_code == 0, result.output
    assert "journal verified: 4 transfers (4 not yet sealed)" in result.output
    result = CliRunner().invoke(cli, ["ledger", "verify", "--seal-first"], env=env)
    assert result.exit_code == 0, result.output
    assert "journal verified: 4 transfers (0 not yet sealed)" in result.output
    _tamper(database_url)
    result = CliRunner().invoke(
        cli, ["ledger", "verify"], env={"BEYONDPAY_DATABASE_URL": database_url}
    )
    assert result.exit_code == 1
    assert "t2 hash mismatch" in result.output


def _tamper(database_url: str) -> None:
    with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
        connection.execute(
            "ALTER TABLE ledger_transfers DISABLE TRIGGER ledger_transfers_append_only"
        )
        connection.execute("UPDATE ledger_transfers SET amount = 30 WHERE id = 't2'")
        connection.execute(
            "ALTER TABLE ledger_transfers ENABLE TRIGGER ledger_transfers_append_only"
        )


@pytest.mark.ledger_tampered
async def test_verify_catches_a_tampered_row(database: Database, database_url: str) -> None:
    await _journal(database)
    _tamper(database_url)
    report = await verify_database(database_url)
    assert not report.ok
    assert any("t2 hash mismatch" in problem for problem in report.problems)
    assert any("account wallet: stored debits_posted" in problem for problem in report.problems)


@pytest.mark.ledger_tampered
async def test_verify_catches_a_balance_changed_behind_the_ledger(
    database: Database, database_url: str
) -> None:
    await _journal(database)
    with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
        connection.execute("UPDATE ledger_accounts SET credits_posted = 5000 WHERE id = 'wallet'")
    report = await verify_database(database_url)
    assert any("stored credits_posted 5000, journal gives 1000" in p for p in report.problems)


@pytest.mark.ledger_tampered
async def test_verify_catches_a_removed_row(database: Database, database_url: str) -> None:
    await _journal(database)
    with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
        connection.execute(
            "ALTER TABLE ledger_transfers DISABLE TRIGGER ledger_transfers_append_only"
        )
        connection.execute("DELETE FROM ledger_transfers WHERE id = 't2'")
    report = await verify_database(database_url)
    assert any("expected" in problem for problem in report.problems)  # the sequence gap
