"""Background jobs of webhooks: scheduling deliveries from the event sequence, and delivering.

``sweep_webhook_deliveries`` runs every second: it schedules every (merchant, mode) whose cursor is
behind its events, and defers ``deliver_due`` when it scheduled any. ``deliver_due`` also runs
every second on its own, for retries that came due. Both are safe to run twice or concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import Any, Final

import procrastinate
from psycopg_pool import AsyncConnectionPool

from beyondpay.db import jobs
from beyondpay.db.session import Database
from beyondpay.kit.logging import get_logger
from beyondpay.kit.settings import get_settings
from beyondpay.webhooks.deliveries import deliver_due_on, schedule_on, schedule_sweep_on

DELIVER_QUEUEING_LOCK: Final = "webhooks:deliver_due"
JOB_DATABASE_POOL_SIZE: Final = 4

webhooks_jobs = jobs.blueprint("webhooks")
_log = get_logger(__name__)
_databases: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Database]] = (
    weakref.WeakKeyDictionary()
)


def _database(context: procrastinate.JobContext) -> Database:
    """An SQLAlchemy database on the worker's own database (the events service records through
    a session), one per database the process's job App points at."""
    connector = context.app.connector
    if not isinstance(connector, procrastinate.PsycopgConnector):
        raise TypeError("the webhooks' jobs need the psycopg connector")
    pool: AsyncConnectionPool[Any] = connector.pool
    conninfo = str(pool.conninfo)
    # Per event loop as well: an engine's connections belong to the loop that opened them (a
    # process runs one worker loop; tests run one per test).
    of_loop = _databases.setdefault(asyncio.get_running_loop(), {})
    database = of_loop.get(conninfo)
    if database is None:
        database = Database(
            conninfo,
            pool_size=JOB_DATABASE_POOL_SIZE,
            max_overflow=JOB_DATABASE_POOL_SIZE,
            application_name="beyondpay-webhooks",
        )
        of_loop[conninfo] = database
    return database


async def _deliver(database: Database) -> int:
    settings = get_settings()
    return await deliver_due_on(
        database,
        settings.key_ring(),
        allow_private_test_urls=settings.webhooks_allow_private_test_urls,
    )


@webhooks_jobs.task(name="schedule_deliveries", pass_context=True)
async def schedule_deliveries(
    context: procrastinate.JobContext, merchant_id: str, livemode: bool
) -> None:
    database = _database(context)
    if await schedule_on(database, merchant_id, livemode):
        await _deliver(database)


@webhooks_jobs.periodic(cron="* * * * * *", periodic_id="sweep_webhook_deliveries")
@webhooks_jobs.task(
    name="sweep_webhook_deliveries", pass_context=True, queueing_lock="webhooks:sweep"
)
async def sweep_webhook_deliveries(context: procrastinate.JobContext, timestamp: int) -> None:
    database = _database(context)
    scheduled = await schedule_sweep_on(database)
    if scheduled:
        # A deliver_due already waiting will find these as well.
        with contextlib.suppress(procrastinate.exceptions.AlreadyEnqueued):
            await deliver_due.configure(queueing_lock=DELIVER_QUEUEING_LOCK).defer_async()


@webhooks_jobs.periodic(cron="* * * * * *", periodic_id="deliver_due_webhooks")
@webhooks_jobs.task(name="deliver_due", pass_context=True, queueing_lock=DELIVER_QUEUEING_LOCK)
async def deliver_due(context: procrastinate.JobContext, timestamp: int | None = None) -> None:
    attempted = await _deliver(_database(context))
    if attempted:
        _log.info("webhooks_attempted", count=attempted)


jobs.bind(webhooks_jobs)
