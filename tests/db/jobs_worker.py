"""A worker process for the job tests: ``python jobs_worker.py <database-url>``.

Its one task is idempotent the way every beyondpay job must be: the effect is keyed, so a run
that repeats after a crash changes nothing; ``job_attempts`` counts every start, to show repeats.
"""

from __future__ import annotations

import asyncio
import sys

import procrastinate
import psycopg

from beyondpay.db import jobs
from beyondpay.db.urls import libpq_url

probe_jobs = jobs.blueprint("probe")


@probe_jobs.task(name="record")
async def record(key: str, sleep_s: float = 0.0) -> None:
    url = libpq_url(sys.argv[1])
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as connection:
        await connection.execute("INSERT INTO job_attempts (key) VALUES (%s)", (key,))
        await asyncio.sleep(sleep_s)
        await connection.execute(
            "INSERT INTO job_effects (key) VALUES (%s) ON CONFLICT (key) DO NOTHING", (key,)
        )


def job_app(url: str) -> procrastinate.App:
    return jobs.create_job_app(url, [probe_jobs])


async def main(url: str) -> None:
    app = job_app(url)
    async with app.open_async():
        # Short heartbeats, so a killed worker's jobs are found stalled within seconds.
        await jobs.run_worker(
            app,
            install_signal_handlers=True,
            heartbeat_interval_s=0.3,
            stalled_worker_timeout_s=1.5,
            polling_interval_s=0.2,
        )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
