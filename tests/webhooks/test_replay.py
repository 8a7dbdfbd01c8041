"""Replay through the API against a real receiver on loopback: a dead-lettered delivery is sent
again after ``retry`` with the same webhook-id; ``recover`` requeues only the dead and failed
deliveries of its window, which then arrive in order per object; a replayed POST requeues
nothing twice; another merchant or mode gets 404, a disabled endpoint 400."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock, utcnow
from beyondpay.webhooks.deliveries import ATTEMPTS_MAX
from beyondpay.webhooks.tasks import DELIVER_QUEUEING_LOCK
from tests.support import TestMerchant, make_merchant
from tests.webhooks.test_deliveries import (
    Receiver,
    _deliver,
    _deliveries,
    _endpoint,
    _record,
)

# Attempts a test drives through the schedule at most (several deliveries retry side by side).
SCHEDULE_STEPS_MAX = 60


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


def _unix(moment: datetime) -> int:
    return int(moment.timestamp())


async def _statuses(database: Database, endpoint_id: str) -> dict[str, str]:
    return {row.event_id: row.status for row in await _deliveries(database, endpoint_id)}


async def _run_schedule_until(
    database: Database, endpoint_id: str, clock: FrozenClock, dead: set[str]
) -> None:
    """Moves the clock to each next retry and delivers, until every event in ``dead`` is."""
    for _ in range(SCHEDULE_STEPS_MAX):
        rows = await _deliveries(database, endpoint_id)
        if all(row.status == "dead" for row in rows if row.event_id in dead):
            return
        due = [
            row.next_attempt_at
            for row in rows
            if row.status == "failed" and row.next_attempt_at is not None
        ]
        clock.set(max(min(due), clock.now()))
        await _deliver(database)
    raise AssertionError("the schedule did not run out")


async def _deliver_due_queued(database: Database) -> bool:
    async with database.unit_of_work() as session:
        found = await session.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM procrastinate_jobs"
                " WHERE queueing_lock = :lock AND status = 'todo')"
            ),
            {"lock": DELIVER_QUEUEING_LOCK},
        )
        return bool(found.scalar_one())


async def test_retry_sends_a_dead_delivery_again_with_the_same_webhook_id(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant, receiver: Receiver
) -> None:
    receiver.status_of = lambda _event: 500
    endpoint = await _endpoint(client, merchant, receiver.url(), ["*"])
    clock = FrozenClock(utcnow() + timedelta(seconds=1))
    with use_clock(clock):
        (event_id,) = await _record(database, merchant, ("customer.created", "cus_a"))
        await _deliver(database)
        await _run_schedule_until(database, endpoint["id"], clock, {event_id})
        assert len(receiver.received) == ATTEMPTS_MAX
        (delivery,) = await _deliveries(database, endpoint["id"])
        assert delivery.status == "dead"

        # The receiver is fixed; the merchant sends the delivery again.
        receiver.status_of = lambda _event: 200
        retried = await client.post(
            f"/v1/webhook_deliveries/{delivery.id}/retry", headers=merchant.auth()
        )
        assert retried.status_code == 200, retried.text
        body = retried.json()
        assert body["object"] == "webhook_delivery"
        assert body["status"] == "pending"
        assert body["attempt_count"] == 0  # a fresh schedule
        assert body["next_attempt_at"] == _unix(clock.now())
        assert await _deliver_due_queued(database)

        assert await _deliver(database) == 1
        received = receiver.received[-1]
        assert received.headers["webhook-id"] == event_id
        assert received.event["id"] == event_id
        (delivery,) = await _deliveries(database, endpoint["id"])
        assert (delivery.status, delivery.attempt_count) == ("succeeded", 1)
        attempts = (
            await client.get(f"/v1/webhook_deliveries/{delivery.id}", headers=merchant.auth())
        ).json()["attempts"]
        assert [a["status_code"] for a in attempts] == [500] * ATTEMPTS_MAX + [200]

        # A succeeded delivery may be sent again too, still with the event's id.
        again = await client.post(
            f"/v1/webhook_deliveries/{delivery.id}/retry", headers=merchant.auth()
        )
        assert again.json()["status"] == "pending"
        assert await _deliver(database) == 1
        assert [r.headers["webhook-id"] for r in receiver.received[-2:]] == [event_id, event_id]


async def test_recover_requeues_the_windows_dead_and_failed_in_order_per_object(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant, receiver: Receiver
) -> None:
    failing: set[str] = set()
    receiver.status_of = lambda event: 500 if event["id"] in failing else 200
    endpoint = await _endpoint(client, merchant, receiver.url(), ["*"])
    clock = FrozenClock(utcnow() + timedelta(seconds=1))
    with use_clock(clock):
        # Before the window: a delivery that fails.
        (before,) = await _record(database, merchant, ("customer.created", "cus_x"))
        failing.add(before)
        await _deliver(database)
        clock.advance(timedelta(hours=1))
        since = _unix(clock.now())
        clock.advance(timedelta(minutes=10))
        # In the window: one succeeds; cus_a's two events and cus_b's fail until given up.
        (succeeded,) = await _record(database, merchant, ("customer.created", "cus_y"))
        await _deliver(database)
        first, second, other = await _record(
            database,
            merchant,
            ("customer.created", "cus_a"),
            ("customer.updated", "cus_a"),
            ("customer.created", "cus_b"),
        )
        failing.update({first, second, other})
        await _deliver(database)
        await _run_schedule_until(database, endpoint["id"], clock, {first, other})
        statuses = await _statuses(database, endpoint["id"])
        assert statuses[succeeded] == "succeeded"
        assert statuses[first] == statuses[other] == "dead"
        # cus_a's second event waited behind the first, then failed once it was given up.
        assert statuses[second] == "failed"
        assert statuses[before] in ("failed", "dead")
        sent_before = len(receiver.received)

        # The receiver is fixed. An empty window requeues nothing.
        failing.clear()
        empty = await client.post(
            f"/v1/webhook_endpoints/{endpoint['id']}/recover",
            json={"since": since, "until": since + 60},
            headers=merchant.auth(),
        )
        assert empty.status_code == 200, empty.text
        assert empty.json()["deliveries_requeued"] == 0

        recovered = await client.post(
            f"/v1/webhook_endpoints/{endpoint['id']}/recover",
            json={"since": since},
            headers=merchant.auth(),
        )
        assert recovered.status_code == 200, recovered.text
        assert recovered.json() == {
            "object": "webhook_recovery",
            "webhook_endpoint": endpoint["id"],
            "since": since,
            "until": None,
            "deliveries_requeued": 3,
            "livemode": False,
        }
        statuses = await _statuses(database, endpoint["id"])
        assert statuses[first] == statuses[second] == statuses[other] == "pending"
        assert statuses[succeeded] == "succeeded"
        assert statuses[before] in ("failed", "dead")
        assert await _deliver_due_queued(database)

        await _deliver(database)
        resent = [r.headers["webhook-id"] for r in receiver.received[sent_before:]]
        assert sorted(resent) == sorted([first, second, other])
        assert resent.index(first) < resent.index(second)
        statuses = await _statuses(database, endpoint["id"])
        assert statuses[first] == statuses[second] == statuses[other] == "succeeded"


async def test_a_replayed_post_requeues_nothing_twice(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant, receiver: Receiver
) -> None:
    receiver.status_of = lambda _event: 500
    endpoint = await _endpoint(client, merchant, receiver.url(), ["*"])
    clock = FrozenClock(utcnow() + timedelta(seconds=1))
    with use_clock(clock):
        since = _unix(clock.now())
        await _record(database, merchant, ("customer.created", "cus_a"))
        await _deliver(database)
        (delivery,) = await _deliveries(database, endpoint["id"])
        assert (delivery.status, delivery.attempt_count) == ("failed", 1)

        recover = f"/v1/webhook_endpoints/{endpoint['id']}/recover"
        retry = f"/v1/webhook_deliveries/{delivery.id}/retry"
        calls: list[tuple[str, dict[str, Any]]] = [(recover, {"since": since}), (retry, {})]
        for path, params in calls:
            headers = {**merchant.auth(), "Idempotency-Key": f"replay-{path}"}
            first = await client.post(path, json=params, headers=headers)
            assert first.status_code == 200, first.text
            await _deliver(database)  # fails again: attempt_count 1, failed
            (delivery,) = await _deliveries(database, endpoint["id"])
            assert (delivery.status, delivery.attempt_count) == ("failed", 1)
            replayed = await client.post(path, json=params, headers=headers)
            assert replayed.status_code == 200
            assert replayed.headers["idempotent-replayed"] == "true"
            assert replayed.content == first.content
            (unchanged,) = await _deliveries(database, endpoint["id"])
            assert (unchanged.status, unchanged.attempt_count) == ("failed", 1)
            assert unchanged.next_attempt_at == delivery.next_attempt_at


async def test_scoping_disabled_endpoints_and_the_window_are_checked(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant, receiver: Receiver
) -> None:
    endpoint = await _endpoint(client, merchant, receiver.url(), ["*"])
    await _record(database, merchant, ("customer.created", "cus_a"))
    (delivery,) = await _deliveries(database, endpoint["id"])
    recover = f"/v1/webhook_endpoints/{endpoint['id']}/recover"
    retry = f"/v1/webhook_deliveries/{delivery.id}/retry"
    since = _unix(utcnow() - timedelta(days=1))

    other = await make_merchant(database, name="Other")
    for headers in (other.auth(), merchant.auth("sk_live")):
        for path, params in ((recover, {"since": since}), (retry, {})):
            hidden = await client.post(path, json=params, headers=headers)
            assert hidden.status_code == 404, (path, hidden.text)
            assert hidden.json()["error"]["code"] == "resource_missing"

    too_old = _unix(utcnow() - timedelta(days=15))
    for params, param in (
        ({"since": too_old}, "since"),
        ({"since": since, "until": since}, "until"),
        ({}, "since"),
    ):
        refused = await client.post(recover, json=params, headers=merchant.auth())
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["param"] == param

    disabled = await client.post(
        f"/v1/webhook_endpoints/{endpoint['id']}", json={"disabled": True}, headers=merchant.auth()
    )
    assert disabled.status_code == 200, disabled.text
    for path, params, param in (
        (recover, {"since": since}, "webhook_endpoint"),
        (retry, {}, "webhook_delivery"),
    ):
        refused = await client.post(path, json=params, headers=merchant.auth())
        assert refused.status_code == 400, refused.text
        error = refused.json()["error"]
        assert (error["code"], error["param"]) == ("webhook_endpoint_disabled", param)
        assert "enable it first" in error["message"]

    deleted = await client.delete(
        f"/v1/webhook_endpoints/{endpoint['id']}", headers=merchant.auth()
    )
    assert deleted.status_code == 200, deleted.text
    gone = await client.post(recover, json={"since": since}, headers=merchant.auth())
    assert gone.status_code == 404
    orphan = await client.post(retry, headers=merchant.auth())
    assert orphan.status_code == 400
    assert orphan.json()["error"]["code"] == "webhook_endpoint_deleted"
