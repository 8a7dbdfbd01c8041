"""Risk assessment and limits evaluation: latency and throughput, feature store in PostgreSQL and
in Redis, with the round trips they cannot beat measured beside them in the same run.

    .venv/bin/python bench/risk.py [--payments 2000] [--concurrency 8] [--smoke]

Uses BEYONDPAY_DATABASE_URL (the server; the benchmark creates its own database on it) or the
embedded server, and BEYONDPAY_REDIS_URL for the Redis runs (skipped when unset). For each store
it prints, per payment: ``risk_service.assess`` plus ``limits_service.reserve`` (three limit
policies) in the payment's transaction — p50, p99 and payments/s one at a time, then payments/s
with ``--concurrency`` callers — and the in-process part alone (features, rules, model). The
reference: ``SELECT 1`` on the same PostgreSQL and ``PING`` on the same Redis, one round trip
each, measured in the same run. Issue #8's goal is risk + limits p99 ≤ 5 ms in-process.
``--smoke`` measures 50 payments (after the same warm-up), for CI: its figures mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from redis.asyncio import Redis
from sqlalchemy import text

from bench_support import recreate, server_url
from beyondpay.db.migrate import upgrade
from beyondpay.db.session import Database
from beyondpay.db.urls import libpq_url
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.settings import Settings
from beyondpay.limits.domain import LimitContext
from beyondpay.limits.schemas import PolicyCreateParams
from beyondpay.limits.service import LimitsService
from beyondpay.limits.store import CounterStore, PostgresCounterStore, RedisCounterStore
from beyondpay.risk import service as risk_module
from beyondpay.risk.domain import PaymentContext
from beyondpay.risk.features import History, compute
from beyondpay.risk.model import default_model
from beyondpay.risk.rules import DEFAULT_RULES, evaluate, values_of
from beyondpay.risk.service import risk_service
from beyondpay.risk.store import FeatureStore, PostgresFeatureStore, RedisFeatureStore

# A database of this run's own: another bench (make bench) on the same server drops its own.
BENCH_DATABASE = f"beyondpay_bench_risk_{os.getpid()}"
SCOPE = "acct_bench"
PAYERS = 500
PAYEES = 60
WARMUP = 100
SMOKE_PAYMENTS = 50


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def _contexts(
    index: int, rng: random.Random, start: datetime
) -> tuple[PaymentContext, LimitContext]:
    payer, payee = f"pyr_{rng.randrange(PAYERS)}", f"payee_{rng.randrange(PAYEES)}"
    amount = max(100, int(rng.lognormvariate(10, 1)))
    moment = start + timedelta(seconds=index)
    payment = f"pay_{uuid.uuid4().hex}"
    risk = PaymentContext(
        payment_id=payment,
        scope=SCOPE,
        livemode=False,
        rail="upi",
        amount_minor=amount,
        currency="inr",
        payer_key=payer,
        payee_key=payee,
        occurred_at=moment,
        device_id=f"dev_{payer}",
        device_bound_at=start - timedelta(days=30),
        latitude=12.97 + rng.random() / 10,
        longitude=77.59 + rng.random() / 10,
        mcc="5411",
    )
    limit = LimitContext(
        scope=SCOPE,
        livemode=False,
        payment_id=payment,
        amount_minor=amount,
        currency="inr",
        occurred_at=moment,
        payer_key=payer,
        merchant_id=SCOPE,
        device_id=f"dev_{payer}",
        mcc="5411",
    )
    return risk, limit


async def _policies(database: Database) -> None:
    async with database.unit_of_work() as session:
        service = LimitsService(PostgresCounterStore())
        for params in (
            {"kind": "cap", "subject": "payer", "period": "transaction", "amount_max": 10**8},
            {"kind": "cap", "subject": "payer", "period": "day", "amount_max": 10**10},
            {"kind": "cap", "subject": "merchant", "period": "month", "amount_max": 10**10},
        ):
            await service.create_policy(session, SCOPE, False, PolicyCreateParams(**params))


async def _one(
    database: Database, limits: LimitsService, risk_ctx: PaymentContext, limit_ctx: LimitContext
) -> tuple[float, float, float]:
    """Milliseconds of assess and of reserve inside the payment's transaction (not its
    commit), and the milliseconds of this process's CPU they took (on a busy machine the
    elapsed time includes waiting for a core; the CPU time much less so)."""
    async with database.unit_of_work() as session:
        await session.execute(text("SELECT 1"))  # the connection is checked out and warm
        cpu_started = time.process_time()
        started = time.perf_counter()
        await risk_service.assess(session, risk_ctx)
        assessed = time.perf_counter()
        decision = await limits.reserve(session, limit_ctx)
        reserved = time.perf_counter()
        cpu_ms = (time.process_time() - cpu_started) * 1000
    assert decision.allowed, decision
    return (assessed - started) * 1000, (reserved - assessed) * 1000, cpu_ms


async def _run(
    database: Database,
    label: str,
    feature_store: FeatureStore,
    counter_store: CounterStore,
    payments: int,
    concurrency: int,
    ring: KeyRing,
) -> dict[str, float]:
    risk_module.configure(
        Settings(secret_keys="b1:" + "A" * 43 + "="), store=feature_store, scorer=default_model()
    )
    limits = LimitsService(counter_store, ring)
    rng = random.Random(7)
    start = datetime.now(UTC)
    contexts = [_contexts(index, rng, start) for index in range(payments + WARMUP)]
    parts = [await _one(database, limits, *pair) for pair in contexts][WARMUP:]
    timings = [assess_ms + reserve_ms for assess_ms, reserve_ms, _ in parts]
    assess = [assess_ms for assess_ms, _, _ in parts]
    reserve = [reserve_ms for _, reserve_ms, _ in parts]
    cpu_ms = sum(cpu for _, _, cpu in parts) / len(parts)
    sequential_s = sum(timings) / 1000
    more = [_contexts(index, rng, start) for index in range(payments)]
    queue: asyncio.Queue[tuple[PaymentContext, LimitContext]] = asyncio.Queue()
    for pair in more:
        queue.put_nowait(pair)

    async def worker() -> None:
        while not queue.empty():
            await _one(database, limits, *queue.get_nowait())

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    concurrent_s = time.perf_counter() - began
    figures = {
        "p50_ms": _percentile(timings, 0.50),
        "p99_ms": _percentile(timings, 0.99),
        "sequential_per_s": len(timings) / sequential_s,
        "concurrent_per_s": payments / concurrent_s,
    }
    print(
        f"{label:>10}: assess + reserve p50 {figures['p50_ms']:.2f} ms, p99"
        f" {figures['p99_ms']:.2f} ms; {figures['sequential_per_s']:,.0f}/s one at a time,"
        f" {figures['concurrent_per_s']:,.0f}/s with {concurrency} callers"
    )
    print(
        f"{'':>10}  apart: assess p50 {_percentile(assess, 0.5):.2f} ms, p99"
        f" {_percentile(assess, 0.99):.2f} ms; reserve p50 {_percentile(reserve, 0.5):.2f} ms,"
        f" p99 {_percentile(reserve, 0.99):.2f} ms; this process's CPU {cpu_ms:.2f} ms a payment"
    )
    return figures


def _in_process(payments: int) -> None:
    """Features, rules and the model without any store: the CPU part of an assessment."""
    model = default_model()
    rng = random.Random(11)
    start = datetime.now(UTC)
    history = History()
    timings = []
    for index in range(payments + WARMUP):
        ctx, _ = _contexts(index, rng, start)
        began = time.perf_counter()
        features = compute(ctx, history)
        evaluate(DEFAULT_RULES, values_of(ctx, features), ctx.segment)
        model.predict(features)
        timings.append((time.perf_counter() - began) * 1000)
    timings = timings[WARMUP:]
    print(
        f"{'in-process':>10}: features + rules + model p50 {_percentile(timings, 0.5):.3f} ms,"
        f" p99 {_percentile(timings, 0.99):.3f} ms"
    )


async def _reference_postgres(database: Database, rounds: int) -> None:
    timings = []
    async with database.unit_of_work() as session:
        for _ in range(rounds + WARMUP):
            began = time.perf_counter()
            await session.execute(text("SELECT 1"))
            timings.append((time.perf_counter() - began) * 1000)
    timings = timings[WARMUP:]
    print(
        f"{'reference':>10}: PostgreSQL SELECT 1 p50 {_percentile(timings, 0.5):.3f} ms,"
        f" p99 {_percentile(timings, 0.99):.3f} ms (one round trip)"
    )


async def _reference_redis(url: str, rounds: int) -> None:
    client: Any = Redis.from_url(url)
    timings = []
    for _ in range(rounds + WARMUP):
        began = time.perf_counter()
        await client.ping()
        timings.append((time.perf_counter() - began) * 1000)
    await client.aclose()
    timings = timings[WARMUP:]
    print(
        f"{'reference':>10}: Redis PING p50 {_percentile(timings, 0.5):.3f} ms,"
        f" p99 {_percentile(timings, 0.99):.3f} ms (one round trip)"
    )


def _drop(server: str, name: str) -> None:
    with psycopg.connect(libpq_url(server), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--payments", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--smoke", action="store_true", help="a few payments (for CI)")
    args = parser.parse_args()
    if args.smoke:
        args.payments = min(args.payments, SMOKE_PAYMENTS)
    server, embedded = server_url()
    try:
        url = recreate(server, BENCH_DATABASE)
        upgrade(url)
        database = Database(url, pool_size=args.concurrency + 2, max_overflow=0)
        ring = KeyRing.parse("b1:" + "A" * 43 + "=")
        await _policies(database)
        _in_process(args.payments)
        await _reference_postgres(database, args.payments)
        await _run(
            database,
            "postgres",
            PostgresFeatureStore(),
            PostgresCounterStore(),
            args.payments,
            args.concurrency,
            ring,
        )
        redis_url = os.environ.get("BEYONDPAY_REDIS_URL")
        if redis_url:
            prefix = f"bench-{uuid.uuid4().hex[:8]}"
            await _reference_redis(redis_url, args.payments)
            await _run(
                database,
                "redis",
                RedisFeatureStore.from_url(redis_url, prefix),
                RedisCounterStore(redis_url, key_prefix=prefix),
                args.payments,
                args.concurrency,
                ring,
            )
        else:
            print("BEYONDPAY_REDIS_URL is unset: the Redis runs are skipped")
        await database.dispose()
        _drop(server, BENCH_DATABASE)
    finally:
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    asyncio.run(main())
