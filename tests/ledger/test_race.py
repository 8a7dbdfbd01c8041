"""Many processes racing on ten hot accounts: no deadlock, every result true, money conserved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from beyondpay.db.session import Database
from beyondpay.db.urls import libpq_url
from beyondpay.ledger.domain import AccountFlags, NewAccount, Transfer
from beyondpay.ledger.journal import verify_database
from beyondpay.ledger.service import ledger_service
from tests.ledger.race_worker import HOT_ACCOUNTS

PROCESSES = 8
TASKS_PER_PROCESS = 12
RACE_S = float(os.environ.get("BEYONDPAY_RACE_S", "20"))
FUNDING = 5_000
WORKER = Path(__file__).with_name("race_worker.py")


@pytest.mark.slow
async def test_processes_race_on_hot_accounts(database: Database, database_url: str) -> None:
    async with database.unit_of_work() as session:
        await ledger_service.create_accounts(
            session,
            [NewAccount("world", "platform", "inr", "world")]
            + [
                NewAccount(
                    a, f"ledger{index % 3}", "inr", "w", AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
                )
                for index, a in enumerate(HOT_ACCOUNTS)
            ],
        )
        await ledger_service.create_transfers(
            session,
            [Transfer(f"fund-{a}", "world", a, FUNDING, "inr", "fund") for a in HOT_ACCOUNTS],
        )
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                str(WORKER),
                database_url,
                str(index),
                str(RACE_S),
                str(TASKS_PER_PROCESS),
                "batcher" if index % 2 else "direct",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for index in range(PROCESSES)
    ]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=RACE_S + 120)
        assert process.returncode == 0, err.decode()[-3000:]  # a deadlock would end up here
        reports.append(json.loads(out))

    ok = {tid for report in reports for tid in report["ok"]}
    failed = {tid for report in reports for tid in report["failed"]}
    with psycopg.connect(libpq_url(database_url)) as connection:
        stored = {row[0] for row in connection.execute("SELECT id FROM ledger_transfers")}
        totals = connection.execute(
            "SELECT sum(credits_posted - debits_posted), sum(debits_pending), sum(credits_pending) "
            "FROM ledger_accounts WHERE id LIKE 'hot%'"
        ).fetchone()
    journal = {tid for tid in stored if not tid.startswith("fund-") and ".expired" not in tid}
    assert journal == ok  # every ok is in the journal, and nothing else is
    assert not (failed & stored)
    assert len(ok) > 1000, "the race did too little to prove anything"
    assert totals is not None
    assert totals[0] == FUNDING * len(HOT_ACCOUNTS)  # money only moved between the hot accounts
    assert totals[1] == totals[2]
    report = await verify_database(database_url)
    assert report.ok, report.problems[:20]
