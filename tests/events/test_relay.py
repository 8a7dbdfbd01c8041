"""The relay publishes every committed event to the bus once, in sequence order per (merchant,
mode), and none of a rolled-back transaction: running it twice, concurrently, or again after a
crash between the bus's acknowledgement and the mark leaves one message per event."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import nats
import orjson
import pytest
from nats.js.errors import NotFoundError

from beyondpay.db.session import Database
from beyondpay.events.bus import Bus, BusMessage, InProcessBus, JetStreamBus, event_subject
from beyondpay.events.relay import RELAY_BATCH_MAX, relay_on, relay_sweep_on, worker_bus
from beyondpay.events.service import event_service
from beyondpay.events.tasks import number_events_on
from tests.events.support import numbering_pool
from tests.support import TestMerchant

WORKER_WAIT_S = 10
NATS_TIMEOUT_S = 5


class _Boom(Exception):
    pass


class _CrashingBus:
    """Passes ``survive`` messages to ``bus`` (acknowledged there), then fails after the next
    one is acknowledged: a worker that dies between the bus's acknowledgement and the mark."""

    def __init__(self, bus: Bus, survive: int) -> None:
        self.subject_prefix = bus.subject_prefix
        self._bus = bus
        self._left = survive

    async def publish(self, subject: str, message_id: str, payload: bytes) -> None:
        await self._bus.publish(subject, message_id, payload)
        if self._left == 0:
            raise _Boom
        self._left -= 1

    async def publish_batch(self, messages: Sequence[BusMessage]) -> None:
        for message in messages:
            await self.publish(message.subject, message.message_id, message.payload)

    async def close(self) -> None:
        pass


async def _record(
    database: Database, merchant_id: str, livemode: bool, count: int, *, commit: bool = True
) -> list[str]:
    ids: list[str] = []
    try:
        async with database.unit_of_work() as session:
            for index in range(count):
                ids.append(
                    await event_service.record(
                        session,
                        merchant_id=merchant_id,
                        livemode=livemode,
                        type="test_object.updated",
                        object={"id": f"tob_{index}", "object": "test_object"},
                    )
                )
            if not commit:
                raise _Boom
    except _Boom:
        return []
    return ids


async def _published_at(database: Database, merchant_id: str) -> list[Any]:
    async with database.connect() as connection:
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        cursor = await driver.execute(
            "SELECT published_at FROM events WHERE merchant_id = %s", (merchant_id,)
        )
        return [row[0] for row in await cursor.fetchall()]


@pytest.fixture
async def jetstream(nats_url: str) -> AsyncIterator[JetStreamBus]:
    """A bus on a stream and subject prefix of the test's own, deleted afterwards."""
    suffix = uuid.uuid4().hex[:12]
    bus = JetStreamBus(
        nats_url, stream=f"BEYONDPAY_TEST_{suffix}", subject_prefix=f"beyondpay_test_{suffix}"
    )
    try:
        yield bus
    finally:
        await bus.close()
        connection = await nats.connect(nats_url, connect_timeout=NATS_TIMEOUT_S)
        try:
            await connection.jetstream().delete_stream(bus.stream)
        except NotFoundError:
            pass
        finally:
            await connection.close()


async def _stream_messages(nats_url: str, stream: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(subject, Nats-Msg-Id, payload) of every message in the stream, in stream order."""
    connection = await nats.connect(nats_url, connect_timeout=NATS_TIMEOUT_S)
    try:
        jetstream = connection.jetstream(timeout=NATS_TIMEOUT_S)
        info = await jetstream.stream_info(stream)
        messages = []
        for sequence in range(info.state.first_seq, info.state.last_seq + 1):
            message = await jetstream.get_msg(stream, sequence)
            headers = message.headers or {}
            messages.append(
                (
                    str(message.subject),
                    str(headers.get("Nats-Msg-Id")),
                    orjson.loads(message.data or b"null"),
                )
            )
        assert len(messages) == info.state.messages
        return messages
    finally:
        await connection.close()


async def test_every_committed_event_is_in_the_stream_once_and_none_rolled_back(
    database: Database, merchant: TestMerchant, jetstream: JetStreamBus, nats_url: str
) -> None:
    committed = {
        False: await _record(database, merchant.id, False, 3)
        + await _record(database, merchant.id, False, 2),
        True: await _record(database, merchant.id, True, 2),
    }
    assert await _record(database, merchant.id, False, 4, commit=False) == []
    async with numbering_pool(database) as pool:
        for livemode in (False, True):
            await number_events_on(pool, merchant.id, livemode)
            assert await relay_on(pool, jetstream, merchant.id, livemode) == len(
                committed[livemode]
            )
    messages = await _stream_messages(nats_url, jetstream.stream)
    assert sorted(message_id for _, message_id, _ in messages) == sorted(
        committed[False] + committed[True]
    )
    for livemode in (False, True):
        mine = [
            (subject, message_id, payload)
            for subject, message_id, payload in messages
            if payload["livemode"] is livemode
        ]
        assert [message_id for _, message_id, _ in mine] == committed[livemode]
        assert [payload["sequence"] for _, _, payload in mine] == list(
            range(1, len(committed[livemode]) + 1)
        )
        for subject, message_id, payload in mine:
            assert subject == event_subject(
                livemode, merchant.id, "test_object.updated", prefix=jetstream.subject_prefix
            )
            assert payload["id"] == message_id and payload["object"] == "event"
            assert payload["type"] == "test_object.updated"
            assert payload["data"]["object"]["object"] == "test_object"
    assert all(published is not None for published in await _published_at(database, merchant.id))


async def test_running_twice_concurrently_or_after_a_crash_leaves_one_message_per_event(
    database: Database, merchant: TestMerchant, jetstream: JetStreamBus, nats_url: str
) -> None:
    first = await _record(database, merchant.id, False, 5)
    async with numbering_pool(database) as pool:
        await number_events_on(pool, merchant.id, False)
        # The worker dies after the bus acknowledged 3 of the batch's 5, before the mark.
        with pytest.raises(_Boom):
            await relay_on(pool, _CrashingBus(jetstream, survive=2), merchant.id, False)
        assert await _published_at(database, merchant.id) == [None] * 5
        assert len(await _stream_messages(nats_url, jetstream.stream)) == 3
        # The next run publishes all 5 again; the stream drops the 3 repeated ids.
        assert await relay_on(pool, jetstream, merchant.id, False) == 5
        assert await relay_on(pool, jetstream, merchant.id, False) == 0

        second = await _record(database, merchant.id, False, 4)
        await number_events_on(pool, merchant.id, False)
        counts = await asyncio.gather(
            relay_on(pool, jetstream, merchant.id, False),
            relay_on(pool, jetstream, merchant.id, False),
            relay_sweep_on(pool, jetstream),
        )
        assert sum(counts) == 4, "the lock lets one run publish each event"
    messages = await _stream_messages(nats_url, jetstream.stream)
    assert [message_id for _, message_id, _ in messages] == first + second
    assert [payload["sequence"] for _, _, payload in messages] == list(range(1, 10))


async def test_the_in_process_bus_gets_each_scope_in_sequence_order(
    database: Database, merchant: TestMerchant
) -> None:
    bus = InProcessBus()
    received: list[BusMessage] = []
    bus.subscribe(received.append)
    committed: dict[bool, list[str]] = {False: [], True: []}
    for round_number in range(3):
        for livemode in (False, True):
            committed[livemode] += await _record(database, merchant.id, livemode, 2 + round_number)
        await _record(database, merchant.id, False, 3, commit=False)
    # More than a batch in test mode, so the relay takes several transactions.
    committed[False] += await _record(database, merchant.id, False, RELAY_BATCH_MAX)
    async with numbering_pool(database) as pool:
        for livemode in (False, True):
            await number_events_on(pool, merchant.id, livemode)
        await asyncio.gather(
            relay_on(pool, bus, merchant.id, False),
            relay_on(pool, bus, merchant.id, True),
            relay_sweep_on(pool, bus),
            relay_on(pool, bus, merchant.id, False),
        )
    for livemode, mode in ((False, "test"), (True, "live")):
        mine = [message for message in received if message.subject.split(".")[1] == mode]
        assert [message.message_id for message in mine] == committed[livemode]
        sequences = [orjson.loads(message.payload)["sequence"] for message in mine]
        assert sequences == list(range(1, len(committed[livemode]) + 1))


async def test_the_in_process_bus_drops_a_repeated_message_id() -> None:
    bus = InProcessBus(deduplication_window_messages=2)
    received: list[str] = []

    async def subscriber(message: BusMessage) -> None:
        received.append(message.message_id)

    unsubscribe = bus.subscribe(subscriber)
    for message_id in ("evt_a", "evt_b", "evt_a", "evt_c", "evt_b", "evt_a"):
        await bus.publish("beyondpay.test.acct_1.x", message_id, b"{}")
    # The window holds two ids: evt_a is forgotten once evt_b and evt_c followed it.
    assert received == ["evt_a", "evt_b", "evt_c", "evt_a"]
    unsubscribe()
    await bus.publish("beyondpay.test.acct_1.x", "evt_d", b"{}")
    assert received[-1] == "evt_a"


async def test_the_worker_numbers_then_publishes_to_its_bus(
    database: Database, database_url: str, merchant: TestMerchant
) -> None:
    from beyondpay.app import running_worker

    bus = worker_bus()
    if not isinstance(bus, InProcessBus):
        pytest.skip("BEYONDPAY_NATS_URL is set: the worker's bus is JetStream")
    received: list[str] = []

    def subscriber(message: BusMessage) -> None:
        if message.subject.split(".")[2] == merchant.id:  # the bus is the process's, shared
            received.append(message.message_id)

    unsubscribe = bus.subscribe(subscriber)
    try:
        async with running_worker(database_url, concurrency=2):
            committed = await _record(database, merchant.id, False, 2)
            committed += await _record(database, merchant.id, False, 3)
            async with asyncio.timeout(WORKER_WAIT_S):
                while received != committed:
                    await asyncio.sleep(0.05)
    finally:
        unsubscribe()
    assert all(published is not None for published in await _published_at(database, merchant.id))
