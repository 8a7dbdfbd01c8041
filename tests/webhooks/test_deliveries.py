"""Deliveries to a real receiver on loopback: signed for Stripe's and Standard Webhooks'
verifiers, retried on the schedule (driven by a frozen clock) until dead, 410 disabling the
endpoint, an object's events in order, nothing scheduled or delivered twice (but after a lease
expired, with the same webhook-id), enabled_events honoured and a disabled endpoint skipped."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest
import standardwebhooks
import stripe
from sqlalchemy import func, select

from beyondpay.db.session import Database
from beyondpay.events.service import event_service
from beyondpay.events.tasks import number_events_on
from beyondpay.kit.clock import FrozenClock, use_clock, utcnow
from beyondpay.webhooks.deliveries import (
    ATTEMPTS_MAX,
    DELIVERY_TIMEOUT_S,
    RETRY_JITTER_FRACTION,
    RETRY_SCHEDULE,
    SETTLED_RETENTION,
    claim_due,
    deliver_due_on,
    lease_s,
    prune_settled_on,
    schedule_on,
)
from beyondpay.webhooks.models import WebhookAttemptRow, WebhookDeliveryRow, WebhookEndpointRow
from tests.events.support import numbering_pool
from tests.support import TestMerchant, ring_for_tests

RESPONSE_BODY_BYTES = 5_000
WORKER_WAIT_S = 10


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        event: dict[str, Any] = orjson.loads(self.body)
        return event


@dataclass
class Receiver:
    """A raw HTTP/1.1 server on 127.0.0.1: answers each POST with ``status_of(event)``."""

    status_of: Callable[[dict[str, Any]], int] = lambda _event: 200
    received: list[Received] = field(default_factory=list)
    port: int = 0

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")[1:]
            headers = {}
            for line in lines:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            received = Received(headers, body)
            self.received.append(received)
            status = self.status_of(received.event)
            payload = b"x" * RESPONSE_BODY_BYTES
            writer.write(
                f"HTTP/1.1 {status} Status\r\nContent-Length: {len(payload)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    server = await asyncio.start_server(found.handle, "127.0.0.1", 0)
    found.port = server.sockets[0].getsockname()[1]
    try:
        yield found
    finally:
        server.close()
        await server.wait_closed()


async def _endpoint(
    client: httpx.AsyncClient, merchant: TestMerchant, url: str, events: list[str]
) -> dict[str, Any]:
    created = await client.post(
        "/v1/webhook_endpoints",
        json={"url": url, "enabled_events": events},
        headers=merchant.auth(),
    )
    assert created.status_code == 200, created.text
    endpoint: dict[str, Any] = created.json()
    return endpoint


async def _record(
    database: Database, merchant: TestMerchant, *events: tuple[str, str]
) -> list[str]:
    """Records (type, object id) events in one transaction and numbers them."""
    ids = []
    async with database.unit_of_work() as session:
        for event_type, object_id in events:
            ids.append(
                await event_service.record(
                    session,
                    merchant_id=merchant.id,
                    livemode=False,
                    type=event_type,
                    object={"id": object_id, "object": "customer"},
                )
            )
    async with numbering_pool(database) as pool:
        await number_events_on(pool, merchant.id, False)
    await schedule_on(database, merchant.id, False)
    return ids


async def _deliver(database: Database) -> int:
    return await deliver_due_on(database, ring_for_tests(), allow_private_test_urls=True)


async def _deliveries(database: Database, endpoint_id: str) -> list[WebhookDeliveryRow]:
    async with database.unit_of_work() as session:
        rows = (
            await session.execute(
                select(WebhookDeliveryRow)
                .where(WebhookDeliveryRow.endpoint_id == endpoint_id)
                .order_by(WebhookDeliveryRow.sequence)
            )
        ).scalars()
        return list(rows)


async def _endpoint_row(database: Database, endpoint_id: str) -> WebhookEndpointRow:
    async with database.unit_of_work() as session:
        row = await session.get(WebhookEndpointRow, endpoint_id)
        assert row is not None
        return row


async def test_delivery_verifies_and_is_listed_with_its_attempt(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant, receiver: Receiver
) -> None:
    endpoint = await _endpoint(client, merchant, receiver.url(), ["customer.created"])
    (event_id,) = await _record(database, merchant, ("customer.created", "cus_a"))

    assert await _deliver(database) == 1
    (received,) = receiver.received
    assert received.headers["webhook-id"] == event_id
    stripe_event = stripe.Webhook.construct_event(
        received.body.decode(), received.headers["stripe-signature"], endpoint["secret"]
    )
    assert stripe_event["id"] == event_id
    verified = standardwebhooks.Webhook(endpoint["secret"]).verify(received.body, received.headers)
    assert verified["type"] == "customer.created"
    assert verified["data"]["object"]["id"] == "cus_a"

    listed = await client.get(
        f"/v1/webhook_endpoints/{endpoint['id']}/deliveries", headers=merchant.auth()
    )
    assert listed.status_code == 200, listed.text
    (delivery,) = listed.json()["data"]
    assert delivery["object"] == "webhook_delivery"
    assert delivery["event"] == event_id
    assert delivery["status"] == "succeeded"
    assert delivery["attempt_count"] == 1
    retrieved = await client.get(
        f"/v1/webhook_deliveries/{delivery['id']}", headers=merchant.auth()
    )
    assert retrieved.status_code == 200, retrieved.text
    (attempt,) = retrieved.json()["attempts"]
    assert attempt["status_code"] == 200
    assert attempt["error"] is None
    assert attempt["response_body_prefix"] == "x" * 2_048
    # Another merchant's mode does not see it.
    live = await client.get(
        f"/v1/webhook_deliveries/{delivery['id']}", headers=merchant.auth("sk_live")
    )
    assert live.status_code == 404

    # Nothing more to do: a second run sends nothing.
    assert await _deliver(database) == 0
    assert len(receiver.received) == 1


async def test_retries_on_the_schedule_then_dead_then_failing_endpoint_disabled(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant, receiver: Receiver
) -> None:
    receiver.status_of = lambda _event: 500
    endpoint = await _endpoint(client, merchant, receiver.url(), ["*"])
    clock = FrozenClock(utcnow() + timedelta(seconds=1))
    with use_clock(clock):
        await _record(database, merchant, ("customer.created", "cus_a"))
        first_failure = clock.now()
        for attempt in range(1, ATTEMPTS_MAX + 1):
            assert await _deliver(database) == 1, attempt
            assert len(receiver.received) == attempt
            (delivery,) = await _deliveries(database, endpoint["id"])
            assert delivery.attempt_count == attempt
            assert delivery.last_status_code == 500
            if attempt == ATTEMPTS_MAX:
                break
            assert delivery.status == "failed"
            assert delivery.next_attempt_at is not None
            wait = delivery.next_attempt_at - clock.now()
            planned = RETRY_SCHEDULE[attempt - 1]
            assert (
                planned * (1 - RETRY_JITTER_FRACTION)
                <= wait
                <= planned * (1 + RETRY_JITTER_FRACTION)
            )
            # Not due yet: nothing is sent.
            clock.advance(wait - timedelta(seconds=1))
            assert await _deliver(database) == 0
            clock.advance(timedelta(seconds=1))
        assert delivery.status == "dead"
        assert delivery.next_attempt_at is None
        clock.advance(timedelta(days=2))
        assert await _deliver(database) == 0
        assert (await _endpoint_row(database, endpoint["id"])).status == "enabled"

        # Still failing five days after the first failure: the endpoint is disabled, and an
        # event says so.
        clock.set(first_failure + timedelta(days=5))
        await _record(database, merchant, ("customer.updated", "cus_a"))
        assert await _deliver(database) == 1
        row = await _endpoint_row(database, endpoint["id"])
        assert row.status == "disabled"
        assert row.disabled_reason == "failing"
        events = await client.get(
            "/v1/events", params={"type": "webhook_endpoint.disabled"}, headers=merchant.auth()
        )
        (disabled,) = events.json()["data"]
        assert disabled["data"]["object"]["id"] == endpoint["id"]
        assert disabled["data"]["object"]["status"] == "disabled"
        assert "secret" not in disabled["data"]["object"]


async def test_gone_disables_the_endpoint_and_it_gets_nothing_more(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant, receiver: Receiver
) -> None:
    receiver.status_of = lambda _event: 410
    endpoint = await _endpoint(client, merchant, receiver.url(), ["*"])
    await _record(database, merchant, ("customer.created", "cus_a"))
    await _record(database, merchant, ("customer.created", "cus_b"))
    assert await _deliver(database) >= 1
    row = await _endpoint_row(database, endpoint["id"])
    assert row.status == "disabled"
    assert row.disabled_reason == "gone"
    assert {d.status for d in await _deliveries(database, endpoint["id"])} == {"dead"}
    retrieved = await client.get(f"/v1/webhook_endpoints/{endpoint['id']}", headers=merchant.auth())
    assert retrieved.json()["status"] == "disabled"

    sent = len(receiver.received)
    await _record(database, merchant, ("customer.updated", "cus_a"))
    assert await _deliver(database) == 0
    assert len(receiver.received) == sent
    assert len(await _deliveries(database, endpoint["id"])) == 2


async def test_an_objects_events_arrive_in_order(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant, receiver: Receiver
) -> None:
    failing: set[str] = set()
    receiver.status_of = lambda event: 500 if event["id"] in failing else 200
    await _endpoint(client, merchant, receiver.url(), ["*"])
    clock = FrozenClock(utcnow() + timedelta(seconds=1))
    with use_clock(clock):
        first, second, other = await _record(
            database,
            merchant,
            ("customer.created", "cus_a"),
            ("customer.updated", "cus_a"),
            ("customer.created", "cus_b"),
        )
        failing.add(first)
        # cus_a's second event waits behind its failed first; cus_b's is not held up.
        assert await _deliver(database) == 2
        assert sorted(r.headers["webhook-id"] for r in receiver.received) == sorted([first, other])
        clock.advance(timedelta(seconds=4))
        assert await _deliver(database) == 0
        failing.clear()
        clock.advance(timedelta(seconds=2))
        assert await _deliver(database) == 2
        order = [
            r.headers["webhook-id"]
            for r in receiver.received
            if r.event["data"]["object"]["id"] == "cus_a"
        ]
        assert order == [first, first, second]


async def test_scheduling_and_delivery_twice_or_concurrently_do_nothing_twice(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant, receiver: Receiver
) -> None:
    endpoints = [await _endpoint(client, merchant, receiver.url(), ["*"]) for _ in range(2)]
    async with database.unit_of_work() as session:
        for index in range(10):
            await event_service.record(
                session,
                merchant_id=merchant.id,
                livemode=False,
                type="customer.created",
                object={"id": f"cus_{index}", "object": "customer"},
            )
    async with numbering_pool(database) as pool:
        await number_events_on(pool, merchant.id, False)
    await asyncio.gather(*(schedule_on(database, merchant.id, False) for _ in range(3)))
    await schedule_on(database, merchant.id, False)
    async with database.unit_of_work() as session:
        count = (
            await session.execute(select(func.count()).select_from(WebhookDeliveryRow))
        ).scalar_one()
    assert count == 20

    attempted = await asyncio.gather(*(_deliver(database) for _ in range(3)))
    assert sum(attempted) == 20
    assert await _deliver(database) == 0
    keys = {(r.headers["webhook-id"], r.headers["host"]) for r in receiver.received}
    assert len(receiver.received) == 20
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 10
    assert len(keys) == 10  # the same host; two endpoints each got each event once
    for endpoint in endpoints:
        assert {d.status for d in await _deliveries(database, endpoint["id"])} == {"succeeded"}


async def test_an_expired_lease_is_delivered_again_with_the_same_webhook_id(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant, receiver: Receiver
) -> None:
    await _endpoint(client, merchant, receiver.url(), ["*"])
    clock = FrozenClock(utcnow() + timedelta(seconds=1))
    with use_clock(clock):
        (event_id,) = await _record(database, merchant, ("customer.created", "cus_a"))
        # A worker claims it and dies before calling: the lease holds it back...
        (claimed,) = await claim_due(database, ring_for_tests())
        assert await _deliver(database) == 0
        # ...until it expires.
        clock.advance(timedelta(seconds=lease_s(DELIVERY_TIMEOUT_S) + 1))
        assert await _deliver(database) == 1
    (received,) = receiver.received
    assert received.headers["webhook-id"] == event_id == claimed.event["id"]


async def test_enabled_events_disabled_endpoints_and_earlier_events(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant, receiver: Receiver
) -> None:
    await _record(database, merchant, ("customer.created", "cus_before"))
    updates = await _endpoint(client, merchant, receiver.url("/updates"), ["customer.updated"])
    everything = await _endpoint(client, merchant, receiver.url("/all"), ["*"])
    disabled = await _endpoint(client, merchant, receiver.url("/off"), ["*"])
    updated = await client.post(
        f"/v1/webhook_endpoints/{disabled['id']}", json={"disabled": True}, headers=merchant.auth()
    )
    assert updated.status_code == 200, updated.text
    created, changed = await _record(
        database, merchant, ("customer.created", "cus_a"), ("customer.updated", "cus_a")
    )
    await _deliver(database)
    assert [d.event_id for d in await _deliveries(database, updates["id"])] == [changed]
    assert [d.event_id for d in await _deliveries(database, everything["id"])] == [created, changed]
    assert await _deliveries(database, disabled["id"]) == []
    assert sorted(r.headers["webhook-id"] for r in receiver.received) == sorted(
        [changed, created, changed]
    )


async def test_the_worker_schedules_and_delivers(
    database: Database,
    database_url: str,
    merchant: TestMerchant,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from beyondpay.app import running_worker
    from beyondpay.kit.settings import get_settings
    from beyondpay.webhooks.schemas import WebhookEndpointCreateParams
    from beyondpay.webhooks.service import webhook_endpoint_service
    from tests.events.support import caller_of
    from tests.support import TEST_RING_TEXT

    # The worker signs with the ring of its settings: the one the endpoint was sealed with.
    monkeypatch.setenv("BEYONDPAY_SECRET_KEYS", TEST_RING_TEXT)
    get_settings.cache_clear()
    try:
        async with database.unit_of_work() as session:
            params = WebhookEndpointCreateParams(url=receiver.url(), enabled_events=["*"])
            await webhook_endpoint_service.create(
                session, ring_for_tests(), caller_of(merchant.id), params
            )
        async with running_worker(database_url, concurrency=2):
            async with database.unit_of_work() as session:
                event_id = await event_service.record(
                    session,
                    merchant_id=merchant.id,
                    livemode=False,
                    type="customer.created",
                    object={"id": "cus_a", "object": "customer"},
                )
            async with asyncio.timeout(WORKER_WAIT_S):
                while not receiver.received:
                    await asyncio.sleep(0.05)
        assert [r.headers["webhook-id"] for r in receiver.received] == [event_id]
    finally:
        get_settings.cache_clear()


async def test_settled_deliveries_are_pruned_after_the_retention_with_their_attempts(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant, receiver: Receiver
) -> None:
    answers = {"cus_b": [500]}  # cus_b fails once, then succeeds when retried a month later

    def status_of(event: dict[str, Any]) -> int:
        queued = answers.get(event["data"]["object"]["id"], [])
        return queued.pop(0) if queued else 200

    receiver.status_of = status_of
    endpoint = await _endpoint(client, merchant, receiver.url(), ["*"])
    clock = FrozenClock(utcnow() + timedelta(seconds=1))
    with use_clock(clock):
        await _record(database, merchant, ("customer.created", "cus_a"))  # succeeds
        await _record(database, merchant, ("customer.created", "cus_b"))  # fails, retried
        assert await _deliver(database) == 2
        clock.advance(SETTLED_RETENTION - timedelta(minutes=1))
        await _record(database, merchant, ("customer.created", "cus_c"))  # succeeds, recent
        assert await _deliver(database) == 2  # cus_c, and cus_b's retry
        assert await prune_settled_on(database) == 0  # nothing settled long enough ago
        clock.advance(timedelta(minutes=2))
        assert await prune_settled_on(database) == 1
        assert await prune_settled_on(database) == 0
    left = {d.object_id: d.status for d in await _deliveries(database, endpoint["id"])}
    # cus_b settled only a moment ago: kept, as cus_c.
    assert left == {"cus_b": "succeeded", "cus_c": "succeeded"}
    async with database.unit_of_work() as session:
        attempts = await session.execute(select(func.count()).select_from(WebhookAttemptRow))
        assert attempts.scalar_one() == 3  # cus_b's two and cus_c's one
