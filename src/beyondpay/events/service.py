"""Recording events in the caller's transaction. Never commits.

An event is inserted on the caller's connection, so it exists if and only if the change it
describes commits. It names the request that caused it (``kit.context``) and is numbered after
commit, within moments, by the worker's follower (``events.follower``), which the insert
notifies in the same statement; the sweep (``events.tasks``) numbers what no follower heard.

What goes into ``data.object`` is the object's API rendering as the caller passes it. Callers
pass only objects whose rendering holds no secret, card number, PIN or VPA (customers, ledger
accounts and transfers hold none); a module whose objects could must render a redacted form.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
from psycopg.types.json import Jsonb
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import driver_connection
from beyondpay.events.follower import CHANNEL, scope_payload
from beyondpay.kit.clock import utcnow
from beyondpay.kit.context import current_request
from beyondpay.kit.ids import new_id

# The version events are rendered in: Stripe's API version of the SDK this API is tested with
# (stripe-python 16.1.0). Objects have one shape whatever ``Stripe-Version`` a request sends, so
# every event names this one.
API_VERSION: Final = "2026-10-28.endive"

# One statement: the event, and the notification of its (merchant, mode) to the worker's
# follower (``events.follower``). PostgreSQL sends a notification when, and only if, the
# transaction commits, and one per distinct payload per transaction.
_INSERT_AND_NOTIFY: Final = (
    "WITH event AS (INSERT INTO events (id, merchant_id, livemode, type, api_version, object_id,"
    " data, request_id, idempotency_key, created_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s))"
    " SELECT pg_notify(%s, %s)"
)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def previous_attributes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """Stripe's ``previous_attributes`` of an ``*.updated`` event: the changed fields' values
    before the change (``before`` and ``after`` are the object as rendered). For ``metadata``,
    only the keys that changed (``None`` for a key that was added)."""
    previous: dict[str, Any] = {}
    for name, old in before.items():
        new = after.get(name)
        if old == new:
            continue
        if name == "metadata" and isinstance(old, dict) and isinstance(new, dict):
            previous[name] = {
                key: old.get(key)
                for key in sorted(old.keys() | new.keys())
                if old.get(key) != new.get(key)
            }
        else:
            previous[name] = old
    return previous


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
        driver = await driver_connection(session)
        await driver.execute(
            _INSERT_AND_NOTIFY,
            (
                event_id,
                merchant_id,
                livemode,
                str(type),  # a module's StrEnum member (``CustomerEvent.created``) as its text
                API_VERSION,
                object_id if isinstance(object_id, str) else None,
                Jsonb(data, dumps=_dumps),
                request.id,
                request.idempotency_key,
                utcnow(),
                CHANNEL,
                scope_payload(merchant_id, livemode),
            ),
        )
        return event_id


event_service = EventService()
