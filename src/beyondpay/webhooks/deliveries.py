"""Delivering events to webhook endpoints: scheduling, then calling each endpoint.

**Scheduling.** Webhooks read the events' gap-free sequence like any consumer: a cursor per
(merchant, mode) in ``webhook_cursors``. :func:`schedule_on` locks the cursor row, reads the
numbered events after it in sequence order, creates one delivery per enabled endpoint whose
``enabled_events`` match (``*`` or the exact type) and which existed when the event happened, and
advances the cursor, all in one transaction: a crash repeats nothing and loses nothing.

**Delivery.** :func:`deliver_due_on` claims due deliveries (``FOR UPDATE SKIP LOCKED``), but only
the oldest undelivered one of each (endpoint, object): a later event about the same object waits
until the earlier one succeeded or was given up, so an endpoint sees an object's events in order.
The claim sets a lease (``locked_until``) and commits; the HTTP call happens outside any
transaction; its outcome is recorded in a new one. A worker that dies mid-call leaves the lease to
expire, and the delivery is attempted again with the same ``webhook-id`` (the event id).

2xx is success. 410 Gone disables the endpoint and gives up its undelivered deliveries. Anything
else (another status, a timeout, a refused connection, a redirect, a URL the SSRF guard now
refuses) is retried on the Standard Webhooks schedule with ±10 % jitter; after the last retry the
delivery is dead. An endpoint that has failed without a single success for
``ENDPOINT_FAILING_DISABLE_AFTER`` is disabled too. Both disablings record a
``webhook_endpoint.disabled`` event.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import httpx
import orjson
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import Database
from beyondpay.events.models import EventRow, event_object
from beyondpay.kit.clock import utcnow
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.ids import new_id
from beyondpay.kit.logging import get_logger
from beyondpay.webhooks import events as webhook_events
from beyondpay.webhooks.events import WebhookEndpointEvent
from beyondpay.webhooks.models import WebhookAttemptRow, WebhookDeliveryRow, WebhookEndpointRow
from beyondpay.webhooks.schemas import ALL_EVENTS, EndpointStatus
from beyondpay.webhooks.service import active_secrets
from beyondpay.webhooks.signing import signature_headers
from beyondpay.webhooks.ssrf import UrlInvalidError, check_url

# The Standard Webhooks schedule: the wait before each retry after the first attempt.
RETRY_SCHEDULE: Final = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
RETRY_JITTER_FRACTION: Final = 0.1  # each wait is drawn from ±10 % of the schedule's
ATTEMPTS_MAX: Final = 1 + len(RETRY_SCHEDULE)
DELIVERY_TIMEOUT_S: Final = 15.0  # the default; BEYONDPAY_WEBHOOKS_DELIVERY_TIMEOUT_S
# A claim covers one call, which starts at once and ends within its timeout (the SSRF check's
# DNS lookup included), and the recording of its outcome: after the lease a crashed worker's
# delivery is due again.
LEASE_MARGIN_S: Final = 10.0
ENDPOINT_FAILING_DISABLE_AFTER: Final = timedelta(days=5)
RESPONSE_BODY_PREFIX_BYTES_MAX: Final = 2_048
SCHEDULE_BATCH_MAX: Final = 500  # events read per scheduling transaction
SCHEDULE_ROUNDS_MAX: Final = 20  # transactions per (merchant, mode) per run
SCHEDULE_SCOPES_MAX: Final = 1_000  # (merchant, mode) pairs a sweep visits per run
CONCURRENT_CALLS_MAX: Final = 16  # calls in flight per run; each claimed only when a slot is free
ATTEMPTS_PER_RUN_MAX: Final = 2_000  # the next run continues
# Settled deliveries (succeeded or dead) and their attempts are kept this long after they
# settled, like Stripe's 30 days of events; replay reaches back 14 days (``replay``).
SETTLED_RETENTION: Final = timedelta(days=30)
PRUNE_BATCH_MAX: Final = 5_000  # deliveries deleted per transaction
PRUNE_ROUNDS_MAX: Final = 20  # transactions per run; the next run continues

DISABLED_GONE: Final = "gone"  # the endpoint answered 410
DISABLED_FAILING: Final = "failing"  # no success for ENDPOINT_FAILING_DISABLE_AFTER
USER_AGENT: Final = "beyondpay-webhooks/1"


class DeliveryStatus:
    pending = "pending"  # not attempted yet
    failed = "failed"  # attempted and failed; a retry is scheduled at next_attempt_at
    succeeded = "succeeded"
    dead = "dead"  # given up: the schedule ran out, or the endpoint was disabled


UNDELIVERED: Final = (DeliveryStatus.pending, DeliveryStatus.failed)

_log = get_logger(__name__)

_ENSURE_CURSOR: Final = text(
    "INSERT INTO webhook_cursors (merchant_id, livemode) VALUES (:merchant, :livemode)"
    " ON CONFLICT (merchant_id, livemode) DO NOTHING"
)
_LOCK_CURSOR: Final = text(
    "SELECT last_sequence FROM webhook_cursors"
    " WHERE merchant_id = :merchant AND livemode = :livemode FOR UPDATE"
)
# After the lock: under READ COMMITTED this snapshot sees every number committed by now.
_EVENTS_AFTER: Final = text(
    "SELECT id, type, object_id, sequence, created_at FROM events"
    " WHERE merchant_id = :merchant AND livemode = :livemode AND sequence > :after"
    " ORDER BY sequence LIMIT :limit"
)
_ADVANCE_CURSOR: Final = text(
    "UPDATE webhook_cursors SET last_sequence = :last"
    " WHERE merchant_id = :merchant AND livemode = :livemode"
)
_BEHIND_SCOPES: Final = text(
    "SELECT s.merchant_id, s.livemode FROM event_sequences s"
    " LEFT JOIN webhook_cursors c USING (merchant_id, livemode)"
    " WHERE s.last_sequence > coalesce(c.last_sequence, 0) LIMIT :limit"
)
# The oldest undelivered delivery of each (endpoint, object), if due and not leased, of an
# endpoint that is enabled. The leased and not-yet-due ones stay the oldest: their object waits.
_CLAIM: Final = text(
    """
    WITH heads AS (
        SELECT DISTINCT ON (endpoint_id, coalesce(object_id, id)) id
        FROM webhook_deliveries
        WHERE status IN ('pending', 'failed')
        ORDER BY endpoint_id, coalesce(object_id, id), sequence
    )
    SELECT d.id FROM webhook_deliveries d
    JOIN heads ON heads.id = d.id
    JOIN webhook_endpoints e ON e.id = d.endpoint_id
    WHERE d.next_attempt_at <= :now AND (d.locked_until IS NULL OR d.locked_until <= :now)
      AND e.status = 'enabled' AND e.deleted_at IS NULL
    ORDER BY d.next_attempt_at
    LIMIT :limit
    FOR UPDATE OF d SKIP LOCKED
    """
)


# Attempts and their deliveries in one statement: the foreign key is checked at its end.
_PRUNE: Final = text(
    """
    WITH doomed AS (
        SELECT id FROM webhook_deliveries
        WHERE status IN ('succeeded', 'dead') AND updated_at < :cutoff
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ), attempts AS (
        DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM doomed)
    )
    DELETE FROM webhook_deliveries WHERE id IN (SELECT id FROM doomed)
    """
)


def matches(enabled_events: Sequence[str], event_type: str) -> bool:
    return ALL_EVENTS in enabled_events or event_type in enabled_events


async def _schedule_batch(session: AsyncSession, merchant_id: str, livemode: bool) -> int:
    scope = {"merchant": merchant_id, "livemode": livemode}
    await session.execute(_ENSURE_CURSOR, scope)
    last = int((await session.execute(_LOCK_CURSOR, scope)).scalar_one())
    events = (
        await session.execute(_EVENTS_AFTER, {**scope, "after": last, "limit": SCHEDULE_BATCH_MAX})
    ).all()
    if not events:
        return 0
    endpoints = (
        (
            await session.execute(
                select(WebhookEndpointRow).where(
                    WebhookEndpointRow.merchant_id == merchant_id,
                    WebhookEndpointRow.livemode == livemode,
                    WebhookEndpointRow.status == EndpointStatus.enabled.value,
                    WebhookEndpointRow.deleted_at.is_(None),
                )
            )
        )
        .scalars()
        .all()
    )
    now = utcnow()
    for event_id, event_type, object_id, sequence, created_at in events:
        for endpoint in endpoints:
            # An endpoint gets the events that happen after it was created, as in Stripe.
            if endpoint.created_at > created_at or not matches(endpoint.enabled_events, event_type):
                continue
            session.add(
                WebhookDeliveryRow(
                    id=new_id("whd"),
                    endpoint_id=endpoint.id,
                    event_id=event_id,
                    merchant_id=merchant_id,
                    livemode=livemode,
                    object_id=object_id,
                    sequence=sequence,
                    status=DeliveryStatus.pending,
                    attempt_count=0,
                    next_attempt_at=now,
                    locked_until=None,
                    last_status_code=None,
                    created_at=now,
                    updated_at=now,
                )
            )
    await session.flush()
    await session.execute(_ADVANCE_CURSOR, {**scope, "last": int(events[-1][3])})
    return len(events)


async def schedule_on(database: Database, merchant_id: str, livemode: bool) -> int:
    """Creates the deliveries of the (merchant, mode)'s events after its cursor; returns how
    many events were read. Safe to run twice or concurrently (the cursor row serializes)."""
    total = 0
    for _ in range(SCHEDULE_ROUNDS_MAX):
        async with database.unit_of_work() as session:
            read = await _schedule_batch(session, merchant_id, livemode)
        total += read
        if read < SCHEDULE_BATCH_MAX:
            break
    return total


async def schedule_sweep_on(database: Database) -> int:
    """Schedules every (merchant, mode) whose cursor is behind its events."""
    async with database.unit_of_work() as session:
        rows = (await session.execute(_BEHIND_SCOPES, {"limit": SCHEDULE_SCOPES_MAX})).all()
    total = 0
    for merchant_id, livemode in rows:
        total += await schedule_on(database, str(merchant_id), bool(livemode))
    return total


@dataclass(frozen=True)
class _Claimed:
    delivery_id: str
    lease: datetime
    event: dict[str, Any]
    endpoint_id: str
    url: str
    livemode: bool
    secrets: list[str] = field(repr=False)  # never in a log or traceback


@dataclass(frozen=True)
class _Result:
    status_code: int | None
    error: str | None
    latency_ms: int
    body_prefix: str | None


def lease_s(timeout_s: float) -> float:
    return timeout_s + LEASE_MARGIN_S


def next_wait(attempt_count: int, rng: random.Random | None = None) -> timedelta | None:
    """The wait after failed attempt number ``attempt_count`` (1-based), jittered; None once the
    schedule has run out."""
    if attempt_count > len(RETRY_SCHEDULE):
        return None
    base = RETRY_SCHEDULE[attempt_count - 1]
    factor = 1 + (rng or random).uniform(-RETRY_JITTER_FRACTION, RETRY_JITTER_FRACTION)
    return base * factor


async def claim_due(
    database: Database,
    ring: KeyRing,
    *,
    limit: int = CONCURRENT_CALLS_MAX,
    timeout_s: float = DELIVERY_TIMEOUT_S,
) -> list[_Claimed]:
    """Claims (leases, and commits) up to ``limit`` due heads of line, for calls that start at
    once; the caller calls and records."""
    now = utcnow()
    lease = now + timedelta(seconds=lease_s(timeout_s))
    claimed: list[_Claimed] = []
    async with database.unit_of_work() as session:
        ids = list((await session.execute(_CLAIM, {"now": now, "limit": limit})).scalars())
        if not ids:
            return []
        await session.execute(
            update(WebhookDeliveryRow)
            .where(WebhookDeliveryRow.id.in_(ids))
            .values(locked_until=lease, updated_at=now)
        )
        rows = (
            await session.execute(
                select(WebhookDeliveryRow, EventRow, WebhookEndpointRow)
                .join(EventRow, EventRow.id == WebhookDeliveryRow.event_id)
                .join(WebhookEndpointRow, WebhookEndpointRow.id == WebhookDeliveryRow.endpoint_id)
                .where(WebhookDeliveryRow.id.in_(ids))
                .order_by(WebhookDeliveryRow.next_attempt_at)
            )
        ).all()
        for delivery, event, endpoint in rows:
            claimed.append(
                _Claimed(
                    delivery_id=delivery.id,
                    lease=lease,
                    event=event_object(event),
                    endpoint_id=endpoint.id,
                    url=endpoint.url,
                    livemode=endpoint.livemode,
                    secrets=active_secrets(ring, endpoint, now),
                )
            )
    return claimed


def _pinned(url: str, address: str) -> str:
    """The URL with its host replaced by the vetted address (no second DNS lookup)."""
    parts = urlsplit(url)
    host = f"[{address}]" if ":" in address else address
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


async def _call(
    client: httpx.AsyncClient, claimed: _Claimed, allow_private_test_urls: bool, timeout_s: float
) -> _Result:
    # Latency on the event loop's monotonic clock: kit.clock may be frozen (a test), and the
    # call's duration is real time either way.
    loop_started = asyncio.get_running_loop().time()

    def elapsed_ms() -> int:
        return max(int((asyncio.get_running_loop().time() - loop_started) * 1000), 0)

    # httpx's timeout bounds each phase; this bounds the whole (DNS, connect, a slow drip of
    # headers), so a call always ends within its lease.
    try:
        async with asyncio.timeout(timeout_s):
            return await _check_and_send(client, claimed, allow_private_test_urls, elapsed_ms)
    except TimeoutError:
        return _Result(None, "timeout", elapsed_ms(), None)


async def _check_and_send(
    client: httpx.AsyncClient,
    claimed: _Claimed,
    allow_private_test_urls: bool,
    elapsed_ms: Callable[[], int],
) -> _Result:
    try:
        vetted = await check_url(
            claimed.url,
            livemode=claimed.livemode,
            allow_private_test_urls=allow_private_test_urls,
        )
    except UrlInvalidError:
        return _Result(None, "url_refused", elapsed_ms(), None)
    body = orjson.dumps(claimed.event)
    headers = signature_headers_for(claimed, body)
    netloc = urlsplit(claimed.url).netloc.rsplit("@", 1)[-1]
    headers.update({"Content-Type": "application/json", "User-Agent": USER_AGENT, "Host": netloc})
    extensions = {"sni_hostname": vetted.host} if vetted.scheme == "https" else {}
    try:
        request = client.build_request(
            "POST",
            _pinned(claimed.url, vetted.addresses[0]),
            content=body,
            headers=headers,
            extensions=extensions,
        )
        response = await client.send(request, stream=True)
        try:
            prefix = bytearray()
            async for chunk in response.aiter_bytes():
                prefix += chunk
                if len(prefix) >= RESPONSE_BODY_PREFIX_BYTES_MAX:
                    break
        finally:
            await response.aclose()
    except httpx.TimeoutException:
        return _Result(None, "timeout", elapsed_ms(), None)
    except httpx.ConnectError:
        return _Result(None, "connection_error", elapsed_ms(), None)
    except httpx.HTTPError:
        return _Result(None, "http_error", elapsed_ms(), None)
    text_prefix = bytes(prefix[:RESPONSE_BODY_PREFIX_BYTES_MAX]).decode("utf-8", "replace")
    # A character cut in two becomes U+FFFD (3 bytes): trim back under the limit.
    while len(text_prefix.encode()) > RESPONSE_BODY_PREFIX_BYTES_MAX:
        text_prefix = text_prefix[:-1]
    return _Result(response.status_code, None, elapsed_ms(), text_prefix)


def signature_headers_for(claimed: _Claimed, body: bytes) -> dict[str, str]:
    timestamp = int(utcnow().timestamp())
    # webhook-id is the event id: the same on every retry, so receivers de-duplicate on it.
    return signature_headers(claimed.secrets, str(claimed.event["id"]), timestamp, body)


async def _disable(
    session: AsyncSession, endpoint: WebhookEndpointRow, reason: str, now: datetime
) -> None:
    endpoint.status = EndpointStatus.disabled.value
    endpoint.disabled_reason = reason
    await session.execute(
        update(WebhookDeliveryRow)
        .where(
            WebhookDeliveryRow.endpoint_id == endpoint.id,
            WebhookDeliveryRow.status.in_(UNDELIVERED),
        )
        .values(status=DeliveryStatus.dead, locked_until=None, next_attempt_at=None, updated_at=now)
    )
    await session.flush()
    await webhook_events.record(session, endpoint, WebhookEndpointEvent.disabled)
    _log.warning("webhook_endpoint_disabled", endpoint=endpoint.id, reason=reason)


async def _record_all(database: Database, outcomes: Sequence[tuple[_Claimed, _Result]]) -> None:
    """Records the outcomes of finished calls, in one transaction."""
    now = utcnow()
    async with database.unit_of_work() as session:
        # Endpoints first, then deliveries, each in id order: disabling an endpoint updates all
        # its deliveries, so any other order deadlocks with a concurrent run's outcomes.
        endpoints = {
            row.id: row
            for row in (
                await session.execute(
                    select(WebhookEndpointRow)
                    .where(WebhookEndpointRow.id.in_({c.endpoint_id for c, _ in outcomes}))
                    .order_by(WebhookEndpointRow.id)
                    .with_for_update()
                )
            ).scalars()
        }
        deliveries = {
            row.id: row
            for row in (
                await session.execute(
                    select(WebhookDeliveryRow)
                    .where(WebhookDeliveryRow.id.in_([c.delivery_id for c, _ in outcomes]))
                    .order_by(WebhookDeliveryRow.id)
                    .with_for_update()
                )
            ).scalars()
        }
        disabled_now: set[str] = set()
        for claimed, result in outcomes:
            endpoint = endpoints[claimed.endpoint_id]
            delivery = deliveries[claimed.delivery_id]
            if endpoint.id in disabled_now and delivery.status in UNDELIVERED:
                # Given up with the rest of the endpoint's deliveries a moment ago.
                delivery.status = DeliveryStatus.dead
                delivery.next_attempt_at = None
            await _apply(session, endpoint, delivery, claimed, result, now)
            if endpoint.status != EndpointStatus.enabled.value:
                disabled_now.add(endpoint.id)


async def _apply(
    session: AsyncSession,
    endpoint: WebhookEndpointRow,
    delivery: WebhookDeliveryRow,
    claimed: _Claimed,
    result: _Result,
    now: datetime,
) -> None:
    session.add(
        WebhookAttemptRow(
            delivery_id=delivery.id,
            attempted_at=now,
            status_code=result.status_code,
            error=result.error,
            latency_ms=result.latency_ms,
            response_body_prefix=result.body_prefix,
        )
    )
    delivery.attempt_count += 1
    delivery.updated_at = now
    if result.status_code is not None:
        delivery.last_status_code = result.status_code
    if delivery.locked_until == claimed.lease:
        delivery.locked_until = None
    if delivery.status not in UNDELIVERED:
        # Settled meanwhile (a duplicate after a lease expired, or the endpoint disabled):
        # the attempt is recorded, the outcome stands.
        return
    code = result.status_code
    if code is not None and 200 <= code < 300:
        delivery.status = DeliveryStatus.succeeded
        delivery.next_attempt_at = None
        endpoint.failing_since = None
        return
    if endpoint.failing_since is None:
        endpoint.failing_since = now
    if code == 410:
        delivery.status = DeliveryStatus.dead
        delivery.next_attempt_at = None
        if endpoint.status == EndpointStatus.enabled.value:
            await _disable(session, endpoint, DISABLED_GONE, now)
        return
    wait = next_wait(delivery.attempt_count)
    if wait is None:
        delivery.status = DeliveryStatus.dead
        delivery.next_attempt_at = None
    else:
        delivery.status = DeliveryStatus.failed
        delivery.next_attempt_at = now + wait
    if (
        endpoint.status == EndpointStatus.enabled.value
        and now - endpoint.failing_since >= ENDPOINT_FAILING_DISABLE_AFTER
    ):
        await _disable(session, endpoint, DISABLED_FAILING, now)


async def deliver_due_on(
    database: Database,
    ring: KeyRing,
    *,
    allow_private_test_urls: bool,
    timeout_s: float = DELIVERY_TIMEOUT_S,
    client: httpx.AsyncClient | None = None,
) -> int:
    """Attempts every due delivery (the head of each object's line) until none is due; returns
    how many attempts were made. Up to ``CONCURRENT_CALLS_MAX`` calls are in flight, and a slot
    that frees is filled by a new claim at once (the delivery that ended may have let its
    object's next event come due). Safe to run twice or concurrently: a delivery is claimed by
    one run at a time."""
    own_client = client is None
    if client is None:
        client = httpx.AsyncClient(timeout=timeout_s, follow_redirects=False, trust_env=False)

    async def attempt(claimed: _Claimed) -> tuple[_Claimed, _Result]:
        return claimed, await _call(client, claimed, allow_private_test_urls, timeout_s)

    in_flight: set[asyncio.Task[tuple[_Claimed, _Result]]] = set()
    total = 0
    try:
        while True:
            room = min(CONCURRENT_CALLS_MAX - len(in_flight), ATTEMPTS_PER_RUN_MAX - total)
            if room > 0:
                claimed = await claim_due(database, ring, limit=room, timeout_s=timeout_s)
                in_flight.update(asyncio.create_task(attempt(one)) for one in claimed)
                total += len(claimed)
            if not in_flight:
                break
            done, in_flight = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            # Every call that has ended by now, recorded together: a transaction per round,
            # not per call. A failure to record ends the run; the leases cover the rest.
            await _record_all(database, [task.result() for task in done])
    finally:
        for task in in_flight:
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)
        if own_client:
            await client.aclose()
    return total


async def prune_settled_on(database: Database) -> int:
    """Deletes deliveries settled more than ``SETTLED_RETENTION`` ago, with their attempts;
    returns how many deliveries. Safe to run twice or concurrently."""
    cutoff = utcnow() - SETTLED_RETENTION
    total = 0
    for _ in range(PRUNE_ROUNDS_MAX):
        async with database.unit_of_work() as session:
            result = await session.execute(_PRUNE, {"cutoff": cutoff, "limit": PRUNE_BATCH_MAX})
            deleted = int(getattr(result, "rowcount", 0) or 0)
        total += deleted
        if deleted < PRUNE_BATCH_MAX:
            break
    return total
