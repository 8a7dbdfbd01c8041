"""Numbering events after commit: a gap-free ``sequence`` per (merchant, mode).

A writer's transaction inserts its events unnumbered and enqueues :func:`number_events` for its
(merchant, mode) (``events.service``). The job locks the (merchant, mode)'s row of
``event_sequences`` and gives the committed unnumbered events the next numbers in ``inserted``
order, a batch per transaction. Numbering is serialized by that row lock, and each batch commits
its numbers at once, so the numbered events of a (merchant, mode) are always 1..N with no gap,
and a number, once visible, is never followed later by a smaller one: a reader of
``after_sequence`` never misses an event. Running twice, or in two workers at once, is safe: the
second waits for the lock and then finds the first one's events numbered.

A writer that finds a numbering job already queued enqueues none; if that job starts before the
writer commits, the writer's events wait for the next job or for :func:`sweep_unnumbered_events`,
which runs every ``SWEEP_INTERVAL_S`` and numbers anything left (a lost job included).

Both jobs then relay (``events.relay``): the job publishes its (merchant, mode)'s numbered
events to the worker's bus, and the sweep every (merchant, mode)'s left unpublished. A relay that
fails (the bus is away) is logged and left to the next sweep: the numbers are committed already.
"""

from __future__ import annotations

from typing import Any, Final

import procrastinate
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from beyondpay.db import jobs
from beyondpay.events.relay import relay_on, relay_sweep_on, worker_bus
from beyondpay.kit.logging import get_logger

NUMBERING_BATCH_MAX: Final = 1_000  # events numbered per transaction
NUMBERING_ROUNDS_MAX: Final = 100  # batches per run; the next run (or the sweep) continues
SWEEP_SCOPES_MAX: Final = 1_000  # (merchant, mode) pairs a sweep visits per run
SWEEP_INTERVAL_S: Final = 2  # keep in step with the sweep's cron below

events_jobs = jobs.blueprint("events")
_log = get_logger(__name__)

_ENSURE_COUNTER: Final = (
    "INSERT INTO event_sequences (merchant_id, livemode) VALUES (%s, %s)"
    " ON CONFLICT (merchant_id, livemode) DO NOTHING"
)
_LOCK_COUNTER: Final = (
    "SELECT last_sequence FROM event_sequences WHERE merchant_id = %s AND livemode = %s FOR UPDATE"
)
# Under READ COMMITTED this statement's snapshot is taken after the lock above was granted, so
# it sees every number the lock's previous holder committed and every event committed by now.
_NUMBER_BATCH: Final = """
WITH batch AS (
    SELECT id, inserted FROM events
    WHERE merchant_id = %(merchant)s AND livemode = %(livemode)s AND sequence IS NULL
    ORDER BY inserted
    LIMIT %(limit)s
), numbered AS (
    SELECT id, row_number() OVER (ORDER BY inserted) AS position FROM batch
), updated AS (
    UPDATE events SET sequence = %(last)s + numbered.position
    FROM numbered WHERE events.id = numbered.id
    RETURNING 1
)
UPDATE event_sequences SET last_sequence = %(last)s + (SELECT count(*) FROM updated)
WHERE merchant_id = %(merchant)s AND livemode = %(livemode)s
RETURNING last_sequence - %(last)s
"""
_UNNUMBERED_SCOPES: Final = (
    "SELECT DISTINCT merchant_id, livemode FROM events WHERE sequence IS NULL LIMIT %s"
)


def queueing_lock(merchant_id: str, livemode: bool) -> str:
    """At most one numbering job of a (merchant, mode) waits in the queue."""
    return f"events:number:{merchant_id}:{'live' if livemode else 'test'}"


async def _number_batch(connection: AsyncConnection[Any], merchant_id: str, livemode: bool) -> int:
    async with connection.transaction():
        await connection.execute(_ENSURE_COUNTER, (merchant_id, livemode))
        locked = await (await connection.execute(_LOCK_COUNTER, (merchant_id, livemode))).fetchone()
        if locked is None:
            raise RuntimeError("the event_sequences row was just ensured")
        last = int(locked[0])
        cursor = await connection.execute(
            _NUMBER_BATCH,
            {
                "merchant": merchant_id,
                "livemode": livemode,
                "limit": NUMBERING_BATCH_MAX,
                "last": last,
            },
        )
        row = await cursor.fetchone()
        return int(row[0]) if row is not None else 0


async def number_events_on(pool: AsyncConnectionPool[Any], merchant_id: str, livemode: bool) -> int:
    """Numbers the (merchant, mode)'s committed unnumbered events; returns how many."""
    total = 0
    async with pool.connection() as connection:
        for _ in range(NUMBERING_ROUNDS_MAX):
            numbered = await _number_batch(connection, merchant_id, livemode)
            total += numbered
            if numbered < NUMBERING_BATCH_MAX:
                break
    return total


async def sweep_on(pool: AsyncConnectionPool[Any]) -> int:
    """Numbers every (merchant, mode)'s committed unnumbered events; returns how many."""
    async with pool.connection() as connection:
        cursor = await connection.execute(_UNNUMBERED_SCOPES, (SWEEP_SCOPES_MAX,))
        scopes = [(str(merchant), bool(livemode)) for merchant, livemode in await cursor.fetchall()]
    total = 0
    for merchant_id, livemode in scopes:
        total += await number_events_on(pool, merchant_id, livemode)
    return total


def _pool(context: procrastinate.JobContext) -> AsyncConnectionPool[Any]:
    connector = context.app.connector
    if not isinstance(connector, procrastinate.PsycopgConnector):
        raise TypeError("the events' jobs need the psycopg connector")
    return connector.pool


@events_jobs.task(name="number_events", pass_context=True)
async def number_events(
    context: procrastinate.JobContext, merchant_id: str, livemode: bool
) -> None:
    pool = _pool(context)
    await number_events_on(pool, merchant_id, livemode)
    try:
        await relay_on(pool, worker_bus(), merchant_id, livemode)
    except Exception as exc:  # the sweep publishes them once the bus is back
        _log.warning("events_relay_failed", error=type(exc).__name__)


@events_jobs.periodic(cron="* * * * * */2", periodic_id="sweep_unnumbered_events")
@events_jobs.task(name="sweep_unnumbered_events", pass_context=True, queueing_lock="events:sweep")
async def sweep_unnumbered_events(context: procrastinate.JobContext, timestamp: int) -> None:
    pool = _pool(context)
    numbered = await sweep_on(pool)
    if numbered:
        _log.info("events_numbered_by_sweep", count=numbered)
    try:
        published = await relay_sweep_on(pool, worker_bus())
    except Exception as exc:  # the next sweep tries again
        _log.warning("events_relay_failed", error=type(exc).__name__)
        return
    if published:
        _log.info("events_published_by_sweep", count=published)


# Writers defer number_events on their own connection, in a process whose App may not be open
# yet (a script, a test): the task must be bound to the App from the start.
jobs.bind(events_jobs)
