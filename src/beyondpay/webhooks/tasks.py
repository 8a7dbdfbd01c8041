"""Background jobs of webhooks: scheduling deliveries from the event sequence, and delivering.

The events' follower calls :func:`schedule_after_numbering` as soon as a (merchant, mode)'s new
events are numbered: it schedules their deliveries and starts delivering in the same process,
so a delivery starts within moments of the commit. ``sweep_webhook_deliveries`` runs every
second as well: it schedules every (merchant, mode) whose cursor is still behind its events
(events the follower did not hear of, a worker that died). ``deliver_due`` also runs every
second on its own, for retries that came due. All are safe to run twice or concurrently.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from dataclasses import dataclass
from typing import Any, Final

import procrastinate
from psycopg_pool import AsyncConnectionPool

from beyondpay.db import jobs
from beyondpay.db.session import Database
from beyondpay.events.tasks import after_numbering
from beyondpay.kit.logging import get_logger
from beyondpay.kit.settings import get_settings
from beyondpay.webhooks.deliveries import (
    ATTEMPTS_PER_RUN_MAX,
    deliver_due_on,
    prune_settled_on,
    schedule_on,
    schedule_sweep_on,
)

DELIVER_QUEUEING_LOCK: Final = "webhooks:deliver_due"
JOB_DATABASE_POOL_SIZE: Final = 4

webhooks_jobs = jobs.blueprint("webhooks")
_log = get_logger(__name__)
_databases: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Database]] = (
    weakref.WeakKeyDictionary()
)


def _database(context: procrastinate.JobContext) -> Database:
    """An SQLAlchemy database on the worker's own database (the events service records through
    a session)."""
    connector = context.app.connector
    if not isinstance(connector, procrastinate.PsycopgConnector):
        raise TypeError("the webhooks' jobs need the psycopg connector")
    pool: AsyncConnectionPool[Any] = connector.pool
    return _database_for(str(pool.conninfo))


def _database_for(conninfo: str) -> Database:
    # One per database and event loop: an engine's connections belong to the loop that opened
    # them (a process runs one worker loop; tests run one per test).
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


async def close_databases() -> None:
    """Stops this event loop's delivering runs and disposes of its engines (a worker
    stopping); a run's leases cover the calls it was making."""
    loop = asyncio.get_running_loop()
    running = [task for task in _background if task.get_loop() is loop]
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    for database in _databases.pop(asyncio.get_running_loop(), {}).values():
        await database.dispose()


@dataclass
class _Run:
    """Whether this process is delivering from a database, and whether it was asked again."""

    running: bool = False
    again: bool = False


_runs: weakref.WeakKeyDictionary[Database, _Run] = weakref.WeakKeyDictionary()


async def _deliver(database: Database, *, bounded: bool = True) -> int:
    """One delivering run per process and database: a run already under way keeps claiming
    until nothing is due, so a second would only take a worker slot from the numbering jobs.
    A job that finds a run under way asks it to look once more before it ends (the deliveries
    that job was deferred for may have been scheduled just after the run's last claim)."""
    run = _runs.setdefault(database, _Run())
    if run.running:
        run.again = True
        return 0
    settings = get_settings()
    run.running = True
    total = 0
    try:
        # Bounded by the attempts of one job; a run the follower started goes on while asked
        # (a stop would leave those deliveries to the periodic deliver_due, a second later).
        while not bounded or total < ATTEMPTS_PER_RUN_MAX:
            run.again = False
            attempted = await deliver_due_on(
                database,
                settings.key_ring(),
                allow_private_test_urls=settings.webhooks_allow_private_test_urls,
                timeout_s=settings.webhooks_delivery_timeout_s,
            )
            total += attempted
            if not run.again:
                break
    finally:
        run.running = False
    return total


async def _defer_deliver_due() -> None:
    # A deliver_due already waiting will find these as well; one running keeps claiming until
    # nothing is due, and if it is just ending, this one follows it.
    with contextlib.suppress(procrastinate.exceptions.AlreadyEnqueued):
        await deliver_due.configure(queueing_lock=DELIVER_QUEUEING_LOCK).defer_async()


_background: set[asyncio.Task[int]] = set()


@after_numbering
async def schedule_after_numbering(conninfo: str, merchant_id: str, livemode: bool) -> None:
    """Schedules the new events' deliveries and starts delivering them in this process at
    once (no job to wait for; the run per process is shared, see :func:`_deliver`)."""
    database = _database_for(conninfo)
    if await schedule_on(database, merchant_id, livemode):
        task = asyncio.create_task(_deliver(database, bounded=False))
        _background.add(task)
        task.add_done_callback(_background.discard)
        task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task[int]) -> None:
    if not task.cancelled() and task.exception() is not None:
        # deliver_due, every second, takes over; the leases cover the calls in flight.
        _log.warning("webhooks_delivering_failed", error=type(task.exception()).__name__)


@webhooks_jobs.periodic(cron="* * * * * *", periodic_id="sweep_webhook_deliveries")
@webhooks_jobs.task(
    name="sweep_webhook_deliveries", pass_context=True, queueing_lock="webhooks:sweep"
)
async def sweep_webhook_deliveries(context: procrastinate.JobContext, timestamp: int) -> None:
    database = _database(context)
    if await schedule_sweep_on(database):
        await _defer_deliver_due()


@webhooks_jobs.periodic(cron="* * * * * *", periodic_id="deliver_due_webhooks")
@webhooks_jobs.task(name="deliver_due", pass_context=True, queueing_lock=DELIVER_QUEUEING_LOCK)
async def deliver_due(context: procrastinate.JobContext, timestamp: int | None = None) -> None:
    attempted = await _deliver(_database(context))
    if attempted:
        _log.info("webhooks_attempted", count=attempted)


@webhooks_jobs.periodic(cron="17 * * * *", periodic_id="prune_webhook_deliveries")
@webhooks_jobs.task(
    name="prune_webhook_deliveries", pass_context=True, queueing_lock="webhooks:prune"
)
async def prune_webhook_deliveries(context: procrastinate.JobContext, timestamp: int) -> None:
    pruned = await prune_settled_on(_database(context))
    if pruned:
        _log.info("webhook_deliveries_pruned", count=pruned)


jobs.bind(webhooks_jobs)
