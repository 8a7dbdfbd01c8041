"""The feature stores give the same histories: PostgreSQL, Redis and memory run the same cases
(Redis against the real server named by BEYONDPAY_TEST_REDIS_URL)."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from beyondpay.db.session import Database
from beyondpay.risk.domain import PaymentContext
from beyondpay.risk.features import History, MemoryHistory
from beyondpay.risk.store import (
    FeatureStore,
    FeatureStoreUnavailableError,
    MemoryFeatureStore,
    PostgresFeatureStore,
    RedisFeatureStore,
)
from tests.risk.support import MOMENT, context


@pytest.fixture(params=["postgres", "redis", "memory"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[FeatureStore]:
    if request.param == "postgres":
        yield PostgresFeatureStore()
    elif request.param == "memory":
        yield MemoryFeatureStore()
    else:
        url = request.getfixturevalue("redis_url")
        prefix = f"test-{uuid.uuid4().hex[:12]}"
        redis_store = RedisFeatureStore.from_url(url, prefix)
        yield redis_store
        client = Redis.from_url(url)
        keys = [key async for key in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
        await redis_store.close()


async def _read(database: Database, store: FeatureStore, ctx: PaymentContext) -> History:
    async with database.unit_of_work() as session:
        return await store.read(session, ctx)


async def _record(database: Database, store: FeatureStore, ctx: PaymentContext) -> None:
    async with database.unit_of_work() as session:
        await store.record(session, ctx)


async def test_a_new_payer_has_an_empty_history(database: Database, store: FeatureStore) -> None:
    assert await _read(database, store, context()) == History()


async def test_windows_payees_devices_and_places(database: Database, store: FeatureStore) -> None:
    payments = [
        # (minutes before MOMENT, amount, payee, device, place)
        (40 * 24 * 60, 9_000_00, "acct_old", "dev_a", None),  # outside 30 days
        (3 * 24 * 60, 1_000_00, "acct_a", "dev_a", (19.07, 72.87)),
        (10 * 60, 2_000_00, "acct_b", "dev_a", None),
        (30, 300_00, "acct_a", "dev_b", (28.61, 77.20)),
    ]
    for minutes, amount, payee, device, place in payments:
        await _record(
            database,
            store,
            context(
                payer_key="cus_x",
                payee_key=payee,
                amount_minor=amount,
                device_id=device,
                latitude=place[0] if place else None,
                longitude=place[1] if place else None,
                occurred_at=MOMENT - timedelta(minutes=minutes),
            ),
        )
    history = await _read(
        database, store, context(payer_key="cus_x", payee_key="acct_a", device_id="dev_a")
    )
    assert (history.count_1h, history.sum_1h_minor) == (1, 300_00)
    assert (history.count_24h, history.sum_24h_minor) == (2, 2_300_00)
    assert (history.count_30d, history.sum_30d_minor) == (3, 3_300_00)
    assert history.unique_payees_24h == 2
    assert history.paid_payee_before
    assert history.last_device_id == "dev_b"
    assert (history.last_latitude, history.last_longitude) == (28.61, 77.20)
    assert history.last_located_at == MOMENT - timedelta(minutes=30)
    assert history.device_first_seen_at == MOMENT - timedelta(days=40)
    never = await _read(database, store, context(payer_key="cus_x", payee_key="acct_new"))
    assert not never.paid_payee_before and never.device_first_seen_at is None


async def test_payee_fan_in_counts_new_payers_in_24_hours(
    database: Database, store: FeatureStore
) -> None:
    for index in range(4):
        moment = MOMENT - timedelta(hours=30 if index == 0 else index)
        await _record(
            database,
            store,
            context(payer_key=f"cus_{index}", payee_key="vpa_mule", occurred_at=moment),
        )
    # A payer paying again is not new to the payee.
    await _record(database, store, context(payer_key="cus_1", payee_key="vpa_mule"))
    history = await _read(database, store, context(payer_key="cus_9", payee_key="vpa_mule"))
    assert history.payee_new_payers_24h == 3


async def test_modes_do_not_share_histories(database: Database, store: FeatureStore) -> None:
    await _record(database, store, context(livemode=True))
    assert await _read(database, store, context(livemode=False)) == History()
    assert (await _read(database, store, context(livemode=True))).count_1h == 1


async def test_every_store_agrees_with_the_memory_history(
    database: Database, store: FeatureStore
) -> None:
    chooser = random.Random(8)
    reference = MemoryHistory()
    moment = MOMENT - timedelta(days=2)
    for _ in range(40):
        moment += timedelta(minutes=chooser.randint(1, 120))
        ctx = context(
            payer_key=f"cus_{chooser.randint(0, 3)}",
            payee_key=f"acct_{chooser.randint(0, 4)}",
            amount_minor=chooser.randint(1, 50_000_00),
            device_id=chooser.choice([None, "dev_1", "dev_2"]),
            latitude=chooser.choice([None, 12.97]),
            longitude=77.59,
            occurred_at=moment,
        )
        assert await _read(database, store, ctx) == reference.read(ctx)
        await _record(database, store, ctx)
        reference.record(ctx)


async def test_an_unreachable_redis_raises_unavailable(database: Database) -> None:
    dead = RedisFeatureStore.from_url("redis://127.0.0.1:1/0", "dead")
    with pytest.raises(FeatureStoreUnavailableError):
        await _read(database, dead, context())
    with pytest.raises(FeatureStoreUnavailableError):
        await _record(database, dead, context())
    await dead.close()
