"""Races: 200 parallel reservations by one payer against a daily cap, each on its own session,
exactly the allowed number pass, over PostgreSQL and over Redis. And Redis going away mid-run:
refusals with ``limits_unavailable``, never an allowed payment over the cap (fail closed)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from beyondpay.db.session import Database
from beyondpay.limits.domain import LimitContext, LimitDecision
from beyondpay.limits.service import LimitsService
from beyondpay.limits.store import CounterStore, RedisCounterStore
from tests.limits.conftest import add_policy, context, redis_store
from tests.support import ring_for_tests

RACERS = 200
AMOUNT_MINOR = 1_000
CAP_MINOR = 37_000  # room for exactly 37 of the 200
CONNECTIONS = 40


@pytest.fixture
async def racing_database(database_url: str) -> AsyncIterator[Database]:
    handle = Database(database_url, pool_size=CONNECTIONS, max_overflow=0, pool_timeout_s=120)
    yield handle
    await handle.dispose()


async def _reserve(database: Database, limits: LimitsService, ctx: LimitContext) -> LimitDecision:
    async with database.unit_of_work() as session:
        return await limits.reserve(session, ctx)


async def _race(database: Database, limits: LimitsService) -> list[LimitDecision]:
    contexts = [context(amount_minor=AMOUNT_MINOR) for _ in range(RACERS)]
    started = time.perf_counter()
    decisions = await asyncio.gather(*(_reserve(database, limits, ctx) for ctx in contexts))
    elapsed_s = time.perf_counter() - started
    print(f"{RACERS} reservations over {limits.store.name}: {elapsed_s * 1000:.0f} ms")
    return list(decisions)


async def test_parallel_reservations_stop_exactly_at_the_daily_cap(
    racing_database: Database, store: CounterStore
) -> None:
    limits = LimitsService(store, ring_for_tests())
    policy = await add_policy(
        racing_database, limits, kind="cap", subject="payer", period="day", amount_max=CAP_MINOR
    )
    decisions = await _race(racing_database, limits)
    allowed = [decision for decision in decisions if decision.allowed]
    assert len(allowed) == CAP_MINOR // AMOUNT_MINOR
    refused = {(d.policy_id, d.code) for d in decisions if not d.allowed}
    assert refused == {(policy, "limits_amount_exceeded")}


class _Proxy:
    """A TCP relay in front of Redis that can be cut: Redis "stops" for this test alone."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        self._writers |= {writer, upstream_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, ConnectionError):
                while data := await source.read(65_536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    async def cut(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.transport.abort()
        await self._server.wait_closed()


async def _spent_minor(redis_url: str, store: RedisCounterStore) -> int:
    client = Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{store.key_prefix}limits:*")]
        assert len(keys) == 1
        return int(await client.hget(keys[0], "amount") or 0)
    finally:
        await client.aclose()


async def test_redis_stopped_mid_run_fails_closed(
    racing_database: Database, redis_url: str
) -> None:
    parts = urlsplit(redis_url)
    proxy = _Proxy(parts.hostname or "127.0.0.1", parts.port or 6379)
    port = await proxy.start()
    through_proxy = redis_url.replace(f":{parts.port or 6379}", f":{port}", 1)
    store = redis_store(through_proxy)
    limits = LimitsService(store, ring_for_tests())
    await add_policy(
        racing_database, limits, kind="cap", subject="payer", period="day", amount_max=CAP_MINOR
    )
    # 30 of the 37 pass while Redis answers.
    first = [await _reserve(racing_database, limits, context()) for _ in range(30)]
    assert all(decision.allowed for decision in first)

    # Redis goes away while 100 more race: whatever was in flight, none may pass the cap.
    racing = [
        asyncio.ensure_future(_reserve(racing_database, limits, context())) for _ in range(100)
    ]
    await asyncio.sleep(0)
    await proxy.cut()
    decisions = await asyncio.gather(*racing)
    allowed = sum(decision.allowed for decision in decisions)
    assert 30 + allowed <= CAP_MINOR // AMOUNT_MINOR
    codes = {decision.code for decision in decisions if not decision.allowed}
    assert codes <= {"limits_unavailable", "limits_amount_exceeded"}
    assert "limits_unavailable" in codes

    # Down for good: every reservation and check is refused, and says why.
    after = [await _reserve(racing_database, limits, context()) for _ in range(5)]
    assert {(d.allowed, d.code) for d in after} == {(False, "limits_unavailable")}
    async with racing_database.unit_of_work() as session:
        checked = await limits.check(session, context())
    assert (checked.allowed, checked.code) == (False, "limits_unavailable")
    # Counted in Redis at least what was allowed (a lost answer errs on counting), never more
    # than the cap.
    spent = await _spent_minor(redis_url, store)
    assert (30 + allowed) * AMOUNT_MINOR <= spent <= CAP_MINOR
    await store.close()


async def test_an_unreachable_redis_refuses_and_a_retry_decides_anew(
    database: Database, redis_url: str
) -> None:
    dead = RedisCounterStore("redis://127.0.0.1:1/0")
    await add_policy(
        database,
        LimitsService(dead, ring_for_tests()),
        kind="cap",
        subject="payer",
        period="day",
        amount_max=CAP_MINOR,
    )
    ctx = context()
    refused = await _reserve(database, LimitsService(dead, ring_for_tests()), ctx)
    assert (refused.allowed, refused.code) == (False, "limits_unavailable")
    # Nothing counted, and the refusal does not stick to the payment: once Redis is back the
    # same payment is decided on its merits.
    live = redis_store(redis_url)
    assert (await _reserve(database, LimitsService(live, ring_for_tests()), ctx)).allowed
    await live.close()
    await dead.close()


async def test_one_payment_reserved_by_racing_calls_counts_once(
    racing_database: Database, store: CounterStore
) -> None:
    limits = LimitsService(store, ring_for_tests())
    await add_policy(
        racing_database, limits, kind="cap", subject="payer", period="day", amount_max=CAP_MINOR
    )
    ctx = context(amount_minor=AMOUNT_MINOR)
    decisions = await asyncio.gather(*(_reserve(racing_database, limits, ctx) for _ in range(6)))
    assert all(decision.allowed for decision in decisions)
    async with racing_database.unit_of_work() as session:
        trail = await limits.decisions(session, ctx.scope, ctx.livemode, ctx.payment_id)
    assert [row.operation for row in trail] == ["reserve"]
    # The counter holds the payment once: room is left for exactly the rest of the cap.
    others = [context(amount_minor=AMOUNT_MINOR) for _ in range(CAP_MINOR // AMOUNT_MINOR)]
    allowed = [(await _reserve(racing_database, limits, other)).allowed for other in others]
    assert allowed.count(True) == CAP_MINOR // AMOUNT_MINOR - 1
