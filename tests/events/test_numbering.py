"""Events are written in the change's transaction, notified to the worker's follower on commit
only, and numbered after commit, gap-free, in the order they became visible, safely twice or
concurrently."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from beyondpay.customers.schemas import CustomerCreateParams, CustomerUpdateParams
from beyondpay.customers.service import customer_service
from beyondpay.db.session import Database
from beyondpay.db.urls import libpq_url
from beyondpay.events.follower import CHANNEL, RECONNECT_WAIT_S
from beyondpay.events.service import API_VERSION, event_service
from beyondpay.events.tasks import number_events_on, sweep_on
from beyondpay.kit.context import RequestContext, request_context
from tests.events.support import caller_of, numbered, numbering_pool
from tests.support import TestMerchant

WRITERS = 8
CREATES_PER_WRITER = 50
UPDATES_PER_WRITER = 5
WORKER_WAIT_S = 10
NOTIFY_WAIT_S = 0.5


class _Boom(Exception):
    pass


@asynccontextmanager
async def _listening(database: Database) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    async with await psycopg.AsyncConnection.connect(
        libpq_url(database.url), autocommit=True
    ) as connection:
        await connection.execute(f"LISTEN {CHANNEL}")
        yield connection


async def _notified(connection: psycopg.AsyncConnection[Any]) -> list[str]:
    return [notify.payload async for notify in connection.notifies(timeout=NOTIFY_WAIT_S)]


async def test_an_event_exists_if_and_only_if_its_change_committed(
    database: Database, merchant: TestMerchant
) -> None:
    caller = caller_of(merchant.id)
    async with _listening(database) as listener:
        with pytest.raises(_Boom):
            async with database.unit_of_work() as session:
                await customer_service.create(session, caller, CustomerCreateParams(name="Gone"))
                raise _Boom
        assert await numbered(database, merchant.id) == []
        assert await _notified(listener) == [], "a rolled-back change notified nobody"

        token = request_context.set(RequestContext(id="req_events_test", idempotency_key="k-1"))
        try:
            async with database.unit_of_work() as session:
                row = await customer_service.create(
                    session, caller, CustomerCreateParams(name="Kept")
                )
        finally:
            request_context.reset(token)
        assert await _notified(listener) == [f"test:{merchant.id}"], "the commit notified"
    [(sequence, event_id, event_type, object_id, data)] = await numbered(database, merchant.id)
    assert (sequence, event_type, object_id) == (None, "customer.created", row.id)
    assert event_id.startswith("evt_")
    assert data["object"]["name"] == "Kept" and "previous_attributes" not in data
    async with database.unit_of_work() as session:
        stored = (
            await session.execute(
                text("SELECT request_id, idempotency_key, api_version FROM events")
            )
        ).one()
        assert tuple(stored) == ("req_events_test", "k-1", API_VERSION)


async def test_a_transaction_of_many_events_notifies_once(
    database: Database, merchant: TestMerchant
) -> None:
    async with _listening(database) as listener:
        async with database.unit_of_work() as session:
            for index in range(5):
                await event_service.record(
                    session,
                    merchant_id=merchant.id,
                    livemode=True,
                    type="test.event",
                    object={"id": f"obj_{index}", "object": "test"},
                )
        assert await _notified(listener) == [f"live:{merchant.id}"]
    async with numbering_pool(database) as pool:
        assert await number_events_on(pool, merchant.id, True) == 5
        assert await number_events_on(pool, merchant.id, True) == 0
    rows = await numbered(database, merchant.id, livemode=True)
    assert [row[0] for row in rows] == [1, 2, 3, 4, 5]
    assert [row[3] for row in rows] == [f"obj_{index}" for index in range(5)]
    assert await numbered(database, merchant.id, livemode=False) == []


async def test_concurrent_writers_are_numbered_gap_free_in_commit_order(
    database: Database, merchant: TestMerchant
) -> None:
    caller = caller_of(merchant.id)
    async with database.unit_of_work() as session:
        shared = await customer_service.create(session, caller, CustomerCreateParams(name="0"))
    writing = True

    async def writer(index: int) -> None:
        for step in range(CREATES_PER_WRITER):
            async with database.unit_of_work() as session:
                await customer_service.create(
                    session, caller, CustomerCreateParams(name=f"{index}-{step}")
                )
            if step % (CREATES_PER_WRITER // UPDATES_PER_WRITER) == 0:
                async with database.unit_of_work() as session:
                    await customer_service.update(
                        session, caller, shared.id, CustomerUpdateParams(name=f"{index}-{step}")
                    )

    async with numbering_pool(database) as pool:

        async def numberer() -> None:
            while writing:
                await number_events_on(pool, merchant.id, False)
                await asyncio.sleep(0.01)

        racing = asyncio.create_task(numberer())
        await asyncio.gather(*(writer(index) for index in range(WRITERS)))
        writing = False
        await racing
        # Twice at once, then once more: each event is numbered once, whoever gets it.
        await asyncio.gather(
            number_events_on(pool, merchant.id, False), number_events_on(pool, merchant.id, False)
        )
        assert await number_events_on(pool, merchant.id, False) == 0

    rows = await numbered(database, merchant.id)
    expected = 1 + WRITERS * (CREATES_PER_WRITER + UPDATES_PER_WRITER)
    assert len(rows) == expected
    assert [row[0] for row in rows] == list(range(1, expected + 1))
    async with database.unit_of_work() as session:
        counter = await session.execute(
            text("SELECT last_sequence FROM event_sequences WHERE merchant_id = :m"),
            {"m": merchant.id},
        )
        assert counter.scalar_one() == expected

    # One customer's updates keep their order: each names the previous one's name.
    history = [row[4] for row in rows if row[3] == shared.id]
    assert history[0]["object"]["name"] == "0"
    updates = history[1:]
    assert len(updates) == WRITERS * UPDATES_PER_WRITER
    previous_name = "0"
    for data in updates:
        assert data["previous_attributes"] == {"name": previous_name}
        previous_name = data["object"]["name"]


async def test_the_sweep_numbers_what_no_job_did(
    database: Database, merchant: TestMerchant
) -> None:
    for livemode in (False, True):
        async with database.unit_of_work() as session:
            for _ in range(3):
                await event_service.record(
                    session,
                    merchant_id=merchant.id,
                    livemode=livemode,
                    type="test.event",
                    object={"id": "obj_1", "object": "test"},
                )
    async with numbering_pool(database) as pool:
        assert await sweep_on(pool) == 6
        assert await sweep_on(pool) == 0
    for livemode in (False, True):
        assert [row[0] for row in await numbered(database, merchant.id, livemode)] == [1, 2, 3]


async def test_the_worker_numbers_events_right_after_commit(
    database: Database, database_url: str, merchant: TestMerchant
) -> None:
    from beyondpay.app import running_worker

    caller = caller_of(merchant.id)
    async with running_worker(database_url, concurrency=2):
        for name in ("A", "B", "C"):
            async with database.unit_of_work() as session:
                await customer_service.create(session, caller, CustomerCreateParams(name=name))
        async with asyncio.timeout(WORKER_WAIT_S):
            while [row[0] for row in await numbered(database, merchant.id)] != [1, 2, 3]:
                await asyncio.sleep(0.05)
    names = [row[4]["object"]["name"] for row in await numbered(database, merchant.id)]
    assert names == ["A", "B", "C"]


async def test_the_follower_alone_numbers_and_relays_at_once_and_reconnects(
    database: Database, merchant: TestMerchant
) -> None:
    """No jobs, no sweep: only the follower could number these; it also survives the loss of
    its connection (terminated from the server side) and follows again."""
    from beyondpay.events.follower import follow

    caller = caller_of(merchant.id)
    follower = asyncio.create_task(follow(libpq_url(database.url)))
    try:
        await asyncio.sleep(0.5)  # listening
        async with database.unit_of_work() as session:
            await customer_service.create(session, caller, CustomerCreateParams(name="A"))
        async with asyncio.timeout(NOTIFY_WAIT_S * 4):
            while [row[0] for row in await numbered(database, merchant.id)] != [1]:
                await asyncio.sleep(0.02)
        async with database.unit_of_work() as session:
            terminated = await session.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE query LIKE 'LISTEN %' AND datname = current_database()"
                )
            )
            assert terminated.scalars().all() == [True]
        await asyncio.sleep(RECONNECT_WAIT_S + 1.0)  # reconnected and listening again
        async with database.unit_of_work() as session:
            await customer_service.create(session, caller, CustomerCreateParams(name="B"))
        async with asyncio.timeout(NOTIFY_WAIT_S * 4):
            while [row[0] for row in await numbered(database, merchant.id)] != [1, 2]:
                await asyncio.sleep(0.02)
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
