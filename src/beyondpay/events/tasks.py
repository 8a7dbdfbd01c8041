"""Numbering events after commit: a gap-free ``sequence`` per (merchant, mode).

A writer's transaction inserts its events unnumbered (``events.service``). :func:`advance`
numbers a (merchant, mode)'s committed unnumbered events: it locks the (merchant, mode)'s row of
``event_sequences`` and gives them the next numbers in ``inserted`` order, a batch per
transaction. Numbering is serialized by that row lock, and each batch commits its numbers at
once, so the numbered events of a (merchant, mode) are always 1..N with no gap, and a number,
once visible, is never followed later by a smaller one: a reader of ``after_sequence`` never
misses an event. Running twice, or in two workers at once, is safe: the second waits for the
lock and then finds the first one's events numbered.

:func:`advance` then calls the consumers of the sequence in higher layers (webhooks), which
register with :func:`after_numbering`, and relays the events to the worker's bus
(``events.relay``). A hook or a relay that fails is logged and left to the next sweep: the
numbers are committed already.

The worker's follower (``events.follower``) calls :func:`advance` within moments of a commit;
:func:`sweep_unnumbered_events` runs every ``SWEEP_INTERVAL_S`` and advances every (merchant,
mode) with unnumbered or unpublished events, for what no follower heard.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final

import procrastinate
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from beyondpay.db import jobs
from beyondpay.events.bus import Bus
from beyondpay.events.relay import relay_on, worker_bus
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
# Unnumbered, or numbered and not yet published (the bus was away).
# (Two queries, one per partial index.)
_BEHIND_SCOPES: Final = (
    "SELECT merchant_id, livemode FROM events WHERE sequence IS NULL"
    " UNION SELECT merchant_id, livemode FROM events"
    " WHERE sequence IS NOT NULL AND published_at IS NULL LIMIT %s"
)


# hook(conninfo, merchant_id, livemode), with the libpq URL of the database the events are in.
NumberedHook = Callable[[str, str, bool], Awaitable[None]]
_after_numbering: list[NumberedHook] = []


def after_numbering(hook: NumberedHook) -> NumberedHook:
    """Registers ``hook(conninfo, merchant_id, livemode)``, called after new events of the
    (merchant, mode) were numbered, before they are relayed; usable as a decorator.
    Registering twice keeps one."""
    if hook not in _after_numbering:
        _after_numbering.append(hook)
    return hook


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
    total = 0
    for merchant_id, livemode in await _scopes(pool, _UNNUMBERED_SCOPES):
        total += await number_events_on(pool, merchant_id, livemode)
    return total


async def _scopes(pool: AsyncConnectionPool[Any], query: str) -> list[tuple[str, bool]]:
    async with pool.connection() as connection:
        cursor = await connection.execute(query, (SWEEP_SCOPES_MAX,))
        return [(str(merchant), bool(livemode)) for merchant, livemode in await cursor.fetchall()]


async def advance(
    pool: AsyncConnectionPool[Any], merchant_id: str, livemode: bool, *, bus: Bus | None = None
) -> int:
    """Numbers the (merchant, mode)'s committed events, calls the hooks if it numbered any,
    and relays; returns how many it numbered."""
    numbered = await number_events_on(pool, merchant_id, livemode)
    if numbered:
        conninfo = str(pool.conninfo)
        # The hooks first: a webhook need not wait for the bus.
        for hook in _after_numbering:
            try:
                await hook(conninfo, merchant_id, livemode)
            except Exception as exc:  # the consumer's own sweep catches up
                _log.warning("events_hook_failed", hook=hook.__qualname__, error=type(exc).__name__)
    try:
        await relay_on(pool, bus or worker_bus(), merchant_id, livemode)
    except Exception as exc:  # the sweep publishes them once the bus is back
        _log.warning("events_relay_failed", error=type(exc).__name__)
    return numbered


def _pool(context: procrastinate.JobContext) -> AsyncConnectionPool[Any]:
    connector = context.app.connector
    if not isinstance(connector, procrastinate.PsycopgConnector):
        raise TypeError("the events' jobs need the psycopg connector")
    return connector.pool


@events_jobs.periodic(cron="* * * * * */2", periodic_id="sweep_unnumbered_events")
@events_jobs.task(name="sweep_unnumbered_events", pass_context=True, queueing_lock="events:sweep")
async def sweep_unnumbered_events(context: procrastinate.JobContext, timestamp: int) -> None:
    pool = _pool(context)
    numbered = 0
    for merchant_id, livemode in await _scopes(pool, _BEHIND_SCOPES):
        numbered += await advance(pool, merchant_id, livemode)
    if numbered:
        _log.info("events_numbered_by_sweep", count=numbered)


jobs.bind(events_jobs)
