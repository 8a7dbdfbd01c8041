"""Jobs are enqueued in the caller's transaction and survive a killed worker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.db.urls import libpq_url
from tests.db.jobs_worker import job_app, record

WORKER = Path(__file__).with_name("jobs_worker.py")


async def _prepare(database: Database) -> None:
    async with database.unit_of_work() as session:
        await session.execute(text("CREATE TABLE job_attempts (key text NOT NULL)"))
        await session.execute(text("CREATE TABLE job_effects (key text PRIMARY KEY)"))


def _start_worker(url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(WORKER.parent)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), url],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _counts(url: str) -> tuple[int, int, int]:
    with psycopg.connect(libpq_url(url)) as connection:
        effects = connection.execute("SELECT count(*) FROM job_effects").fetchone()
        attempts = connection.execute("SELECT count(*) FROM job_attempts").fetchone()
        todo = connection.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
            " AND task_name LIKE 'probe:%'"
        ).fetchone()
    assert effects and attempts and todo
    return effects[0], attempts[0], todo[0]


async def _wait_for_new_attempt(url: str, seen: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while _counts(url)[1] <= seen:
        assert time.monotonic() < deadline, "the worker started no job"
        await asyncio.sleep(0.05)


async def _wait_until_done(url: str, timeout_s: float = 60) -> tuple[int, int, int]:
    deadline = time.monotonic() + timeout_s
    while True:
        counts = _counts(url)
        if counts[2] == 0 or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.2)


async def test_rolled_back_defer_enqueues_nothing(database: Database, database_url: str) -> None:
    await _prepare(database)
    app = job_app(database_url)
    async with app.open_async():
        with pytest.raises(RuntimeError):
            async with database.unit_of_work() as session:
                from beyondpay.db.jobs import defer

                await defer(session, app.tasks["probe:record"], key="rolled-back")
                raise RuntimeError("the use case failed after deferring")
        async with database.unit_of_work() as session:
            from beyondpay.db.jobs import defer

            await defer(session, app.tasks["probe:record"], key="committed")
    async with database.connect() as connection:
        rows = (
            (await connection.execute(text("SELECT args->>'key' FROM procrastinate_jobs")))
            .scalars()
            .all()
        )
    assert rows == ["committed"]


async def test_committed_job_runs_once_across_worker_kills(
    database: Database, database_url: str
) -> None:
    await _prepare(database)
    keys = [f"k{index}" for index in range(12)]
    app = job_app(database_url)
    async with app.open_async(), database.unit_of_work() as session:
        from beyondpay.db.jobs import defer

        for key in keys:
            await defer(session, record, key=key, sleep_s=1.0)

    # Kill the worker hard while jobs are mid-flight, twice, then let a last one finish. Each
    # job records its start, then works for a second: killing right after a new start is
    # certain to interrupt one, however slowly the worker process came up.
    for _ in range(2):
        started = _counts(database_url)[1]
        worker = _start_worker(database_url)
        await _wait_for_new_attempt(database_url, started)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    worker = _start_worker(database_url)
    try:
        effects, attempts, pending = await _wait_until_done(database_url)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    assert pending == 0
    assert effects == len(keys)  # every job's effect, exactly once
    assert attempts > len(keys)  # some ran more than once: the kills interrupted them
    # A succeeded job leaves no row behind: periodic jobs must not grow the table forever.
    with psycopg.connect(libpq_url(database_url)) as connection:
        left = connection.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name LIKE 'probe:%'"
        ).fetchone()
    assert left == (0,)


async def test_sigterm_lets_a_running_job_finish(database: Database, database_url: str) -> None:
    await _prepare(database)
    app = job_app(database_url)
    async with app.open_async(), database.unit_of_work() as session:
        from beyondpay.db.jobs import defer

        await defer(session, record, key="graceful", sleep_s=1.0)
    worker = _start_worker(database_url)
    await _wait_for_new_attempt(database_url, 0)
    worker.send_signal(signal.SIGTERM)  # mid-job: the job has a second of work left
    assert worker.wait(timeout=30) == 0
    effects, attempts, pending = _counts(database_url)
    assert (effects, attempts, pending) == (1, 1, 0)  # finished once, not abandoned
