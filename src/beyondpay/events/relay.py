"""Publishing numbered events to the bus: the outbox's relay.

After numbering (``events.tasks``), the relay takes the (merchant, mode)'s numbered events that
are not yet published, in ``sequence`` order, a batch per transaction, publishes the batch to the
bus and waits for every acknowledgement, then sets ``published_at`` on the batch in that same
transaction. A crash (or a bus error) before the commit leaves the batch unmarked: the next run
publishes it again under the same message ids (the event ids), which the bus de-duplicates. So
a committed event reaches the bus at least once and its consumers once; a rolled-back event,
never (it was never committed, so never numbered).

Relays of one (merchant, mode) are serialized by a transaction-scoped advisory lock, so two
runs (two workers, or a job and the sweep) never interleave their publishing: messages of a
(merchant, mode) reach the bus in sequence order. One exception: when the bus fails to
acknowledge a message in the middle of a batch, the batch's later messages may be stored
already, and the repeat appends the missing one after them. Consumers that need strict order
sort by the payload's ``sequence`` (webhooks do not read the bus; they read the sequence). The
lock is its own, not the numbering's row lock, so numbering never waits for the bus.
"""

from __future__ import annotations

import functools
from typing import Any, Final

import orjson
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from beyondpay.events.bus import Bus, BusMessage, InProcessBus, JetStreamBus, event_subject
from beyondpay.events.models import EventRow, event_object
from beyondpay.kit.clock import utcnow
from beyondpay.kit.settings import get_settings

RELAY_BATCH_MAX: Final = 100  # events published, then marked, per transaction
RELAY_ROUNDS_MAX: Final = 100  # batches per run; the next run (or the sweep) continues
RELAY_SWEEP_SCOPES_MAX: Final = 1_000  # (merchant, mode) pairs a sweep visits per run

_LOCK_SCOPE: Final = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"
# A statement after the lock: under READ COMMITTED its snapshot sees the marks of the lock's
# previous holder.
_UNPUBLISHED: Final = (
    "SELECT id, merchant_id, livemode, type, api_version, object_id, data, request_id,"
    " idempotency_key, created_at, sequence FROM events"
    " WHERE merchant_id = %s AND livemode = %s AND sequence IS NOT NULL AND published_at IS NULL"
    " ORDER BY sequence LIMIT %s"
)
_MARK_PUBLISHED: Final = "UPDATE events SET published_at = %s WHERE id = ANY(%s)"
_UNPUBLISHED_SCOPES: Final = (
    "SELECT DISTINCT merchant_id, livemode FROM events"
    " WHERE sequence IS NOT NULL AND published_at IS NULL LIMIT %s"
)


@functools.lru_cache(maxsize=1)
def worker_bus() -> Bus:
    """The process's bus, created on first use: JetStream when ``BEYONDPAY_NATS_URL`` is set,
    otherwise in-process."""
    url = get_settings().nats_url
    return JetStreamBus(url) if url else InProcessBus()


async def close_worker_bus() -> None:
    """Closes the process's bus if it was created (a worker stopping)."""
    if worker_bus.cache_info().currsize:
        await worker_bus().close()


def relay_lock(merchant_id: str, livemode: bool) -> str:
    return f"events:relay:{merchant_id}:{'live' if livemode else 'test'}"


def _event(row: tuple[Any, ...]) -> EventRow:
    (
        event_id,
        merchant_id,
        livemode,
        event_type,
        api_version,
        object_id,
        data,
        request_id,
        idempotency_key,
        created_at,
        sequence,
    ) = row
    return EventRow(
        id=event_id,
        merchant_id=merchant_id,
        livemode=livemode,
        type=event_type,
        api_version=api_version,
        object_id=object_id,
        data=data,
        request_id=request_id,
        idempotency_key=idempotency_key,
        created_at=created_at,
        sequence=sequence,
    )


async def _relay_batch(
    connection: AsyncConnection[Any], bus: Bus, merchant_id: str, livemode: bool
) -> int:
    async with connection.transaction():
        await connection.execute(_LOCK_SCOPE, (relay_lock(merchant_id, livemode),))
        cursor = await connection.execute(_UNPUBLISHED, (merchant_id, livemode, RELAY_BATCH_MAX))
        events = [_event(row) for row in await cursor.fetchall()]
        # In sequence order; the batch is marked only once the bus has acknowledged all of it.
        await bus.publish_batch(
            [
                BusMessage(
                    event_subject(
                        event.livemode, event.merchant_id, event.type, prefix=bus.subject_prefix
                    ),
                    event.id,
                    orjson.dumps(event_object(event)),
                )
                for event in events
            ]
        )
        if events:
            await connection.execute(_MARK_PUBLISHED, (utcnow(), [event.id for event in events]))
        return len(events)


async def relay_on(
    pool: AsyncConnectionPool[Any], bus: Bus, merchant_id: str, livemode: bool
) -> int:
    """Publishes the (merchant, mode)'s numbered unpublished events; returns how many."""
    total = 0
    async with pool.connection() as connection:
        for _ in range(RELAY_ROUNDS_MAX):
            published = await _relay_batch(connection, bus, merchant_id, livemode)
            total += published
            if published < RELAY_BATCH_MAX:
                break
    return total


async def relay_sweep_on(pool: AsyncConnectionPool[Any], bus: Bus) -> int:
    """Publishes every (merchant, mode)'s numbered unpublished events; returns how many."""
    async with pool.connection() as connection:
        cursor = await connection.execute(_UNPUBLISHED_SCOPES, (RELAY_SWEEP_SCOPES_MAX,))
        scopes = [(str(merchant), bool(livemode)) for merchant, livemode in await cursor.fetchall()]
    total = 0
    for merchant_id, livemode in scopes:
        total += await relay_on(pool, bus, merchant_id, livemode)
    return total
