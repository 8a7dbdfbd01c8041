"""Fixtures of the limits tests: the same tests run over both counter stores."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from beyondpay.db.session import Database
from beyondpay.limits.domain import LimitContext
from beyondpay.limits.schemas import PolicyCreateParams
from beyondpay.limits.service import LimitsService
from beyondpay.limits.store import CounterStore, PostgresCounterStore, RedisCounterStore
from tests.support import ring_for_tests

SCOPE = "acct_limitstests0000000000"
# 10:30 IST on a Wednesday.
NOON_ISH = datetime(2026, 11, 18, 5, 0, tzinfo=UTC)


def redis_store(url: str) -> RedisCounterStore:
    # A prefix of the test's own: counters of other tests (and engineers) never mix in.
    return RedisCounterStore(url, key_prefix=f"test:{uuid.uuid4().hex}:")


@pytest.fixture(params=["postgresql", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[CounterStore]:
    if request.param == "postgresql":
        yield PostgresCounterStore()
        return
    made = redis_store(request.getfixturevalue("redis_url"))
    yield made
    await made.close()


@pytest.fixture
def limits(store: CounterStore) -> LimitsService:
    return LimitsService(store, ring_for_tests())


def context(**changes: Any) -> LimitContext:
    values: dict[str, Any] = {
        "scope": SCOPE,
        "livemode": False,
        "payment_id": f"pay_{uuid.uuid4().hex}",
        "amount_minor": 1_000,
        "currency": "inr",
        "occurred_at": NOON_ISH,
        "payer_key": "pyr_asha",
        "merchant_id": SCOPE,
        "vpa_key": None,
        "device_id": "dev_phone",
        "mcc": "5411",
        "ip": "203.0.113.7",
        "latitude": 12.9716,
        "longitude": 77.5946,
    }
    values.update(changes)
    return LimitContext(**values)


async def add_policy(
    database: Database, limits: LimitsService, scope: str = SCOPE, **params: Any
) -> str:
    async with database.unit_of_work() as session:
        row = await limits.create_policy(session, scope, False, PolicyCreateParams(**params))
        return row.id
