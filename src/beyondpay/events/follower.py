"""Following the events as they commit, so that they are numbered, handed to their consumers
and relayed within moments.

A writer's statement that inserts an event also notifies ``CHANNEL`` with its (merchant, mode)
(``events.service``); PostgreSQL sends the notification when, and only if, the transaction
commits. The worker runs :func:`follow` beside its jobs: it LISTENs, takes every (merchant,
mode) notified since its last round, and advances each (``events.tasks.advance``: numbers the
new events, calls the registered consumers, relays them to the bus). Events committed while a
round runs are taken by the next one, all together: under load one round covers many events,
with no job per event.

A notification is lost when no worker listens (none running, or one reconnecting): the sweep
(``events.tasks``) advances whatever was left every ``SWEEP_INTERVAL_S``, so an event is late
then, never lost. Several workers all follow; their rounds serialize on the same row locks and
the later finds nothing left to number.

PostgreSQL serializes the commits of notifying transactions (a brief lock on the notification
queue at commit); at the event rates of a payments API this costs little, and it is the price
of never polling.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final

import psycopg
from psycopg_pool import AsyncConnectionPool

from beyondpay.events.tasks import advance
from beyondpay.kit.logging import get_logger

CHANNEL: Final = "beyondpay_events"
RECONNECT_WAIT_S: Final = 1.0
FOLLOWER_POOL_SIZE_MAX: Final = 2

_log = get_logger(__name__)


def scope_payload(merchant_id: str, livemode: bool) -> str:
    return f"{'live' if livemode else 'test'}:{merchant_id}"


def _scope(payload: str) -> tuple[str, bool] | None:
    mode, _, merchant_id = payload.partition(":")
    if mode not in ("live", "test") or not merchant_id:
        return None
    return merchant_id, mode == "live"


async def follow(conninfo: str) -> None:
    """Runs until cancelled; reconnects after a lost connection."""
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        conninfo, min_size=1, max_size=FOLLOWER_POOL_SIZE_MAX, open=False
    )
    await pool.open()
    try:
        while True:
            try:
                await _follow_on(conninfo, pool)
            except (psycopg.Error, OSError) as exc:
                _log.warning("events_follower_reconnecting", error=type(exc).__name__)
                await asyncio.sleep(RECONNECT_WAIT_S)
    finally:
        await pool.close()


async def _follow_on(conninfo: str, pool: AsyncConnectionPool[Any]) -> None:
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as connection:
        await connection.execute(f"LISTEN {CHANNEL}")
        while True:
            scopes: dict[tuple[str, bool], None] = {}
            # Wait for one, then take every notification already arrived.
            async for notify in connection.notifies(stop_after=1):
                _add(scopes, notify.payload)
            async for notify in connection.notifies(timeout=0):
                _add(scopes, notify.payload)
            for merchant_id, livemode in scopes:
                await advance(pool, merchant_id, livemode)


def _add(scopes: dict[tuple[str, bool], None], payload: str) -> None:
    scope = _scope(payload)
    if scope is not None:
        scopes[scope] = None
