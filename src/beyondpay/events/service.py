"""Recording events in the caller's transaction. Never commits.

An event is inserted on the caller's connection, so it exists if and only if the change it
describes commits. It names the request that caused it (``kit.context``) and is numbered after
commit (``events.tasks``); this module enqueues that numbering in the same transaction.

What goes into ``data.object`` is the object's API rendering as the caller passes it. Callers
pass only objects whose rendering holds no secret, card number, PIN or VPA (customers, ledger
accounts and transfers hold none); a module whose objects could must render a redacted form.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db import jobs
from beyondpay.db.session import driver_connection
from beyondpay.events.tasks import number_events, queueing_lock
from beyondpay.kit.clock import utcnow
from beyondpay.kit.context import current_request
from beyondpay.kit.ids import new_id

# The version events are rendered in: Stripe's API version of the SDK this API is tested with
# (stripe-python 16.1.0). Objects have one shape whatever ``Stripe-Version`` a request sends, so
# every event names this one.
API_VERSION: Final = "2026-10-28.endive"

# One statement: the event, and a try for the (merchant, mode)'s enqueue lock. The lock is an
# advisory transaction lock, tried (never waited for): a writer that holds it is the only one
# that may enqueue the numbering job, so the enqueue never meets another transaction's
# uncommitted job (which would block on the queueing lock's unique index, then fail).
_INSERT_AND_TRY_LOCK: Final = (
    "WITH event AS (INSERT INTO events (id, merchant_id, livemode, type, api_version, object_id,"
    " data, request_id, idempotency_key, created_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s))"
    " SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))"
)
# A separate statement, so that its snapshot follows the lock: it sees the job of the lock's
# previous holder if that one committed.
_JOB_QUEUED: Final = (
    "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE queueing_lock = %s AND status = 'todo')"
)
# The (merchant, mode) pairs whose numbering this transaction has seen to, by transaction.
_ENQUEUED: Final = "beyondpay.events_enqueued"


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


class EventService:
    async def record(
        self,
        session: AsyncSession,
        *,
        merchant_id: str,
        livemode: bool,
        type: str,
        object: dict[str, Any],
        previous_attributes: dict[str, Any] | None = None,
    ) -> str:
        """Inserts the event in the session's transaction and returns its id (``evt_…``)."""
        event_id = new_id("evt")
        data: dict[str, Any] = {"object": object}
        if previous_attributes is not None:
            data["previous_attributes"] = previous_attributes
        object_id = object.get("id")
        request = current_request()
        lock = queueing_lock(merchant_id, livemode)
        driver = await driver_connection(session)
        cursor = await driver.execute(
            _INSERT_AND_TRY_LOCK,
            (
                event_id,
                merchant_id,
                livemode,
                type,
                API_VERSION,
                object_id if isinstance(object_id, str) else None,
                Jsonb(data, dumps=_dumps),
                request.id,
                request.idempotency_key,
                utcnow(),
                lock,
            ),
        )
        granted = await cursor.fetchone()
        transaction = session.sync_session.get_transaction()
        seen = session.info.get(_ENQUEUED)
        if seen is None or seen[0] is not transaction:
            seen = (transaction, set[str]())
            session.info[_ENQUEUED] = seen
        if granted is not None and granted[0] and lock not in seen[1]:
            queued = await (await driver.execute(_JOB_QUEUED, (lock,))).fetchone()
            if queued is None or not queued[0]:
                await jobs.defer(
                    session,
                    number_events,
                    queueing_lock=lock,
                    merchant_id=merchant_id,
                    livemode=livemode,
                )
        # Whether enqueued now, already queued, or left to the transaction holding the lock.
        seen[1].add(lock)
        return event_id


event_service = EventService()
