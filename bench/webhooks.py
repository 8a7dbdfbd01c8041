"""Webhook latency: an event committed → its webhook received, at a steady rate of events.

    .venv/bin/python bench/webhooks.py [--rate 200] [--seconds 20] [--warmup 3] [--smoke]

Uses BEYONDPAY_DATABASE_URL (the server; the benchmark creates its own database on it) or the
embedded server; BEYONDPAY_NATS_URL, when set, is passed to the worker (the relay then
publishes to JetStream on the way). Two pipelines are measured one after the other, with the
same producer and the same receiver:

- **beyondpay**: a producer commits one event per transaction through ``events.service`` (as a
  merchant API call does), open loop at ``--rate``; the real ``beyondpay worker`` process
  numbers the events, relays them to the bus, schedules a delivery to one webhook endpoint and
  delivers it, signed, to a receiver on loopback;
- **reference**: the floor of any commit-to-webhook pipeline on the same PostgreSQL: a
  transaction inserts a row and ``NOTIFY``s, and a connection that ``LISTEN``s POSTs the row to
  the same receiver at once (no numbering, no outbox, no retry, no signature, no order).

Latency is the receipt's time minus the commit's, on one monotonic clock (the producer and the
receiver share this process), for the events committed after ``--warmup`` seconds.
``--smoke`` sends 20 events/s for a second, for CI: its figures mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Final

import httpx
import orjson
import psycopg

from bench_support import recreate, server_url
from beyondpay.db.migrate import upgrade
from beyondpay.db.session import Database
from beyondpay.db.urls import libpq_url
from beyondpay.events.service import event_service
from beyondpay.kit.crypto import KeyRing
from beyondpay.merchants.domain import Caller, KeyKind, MerchantStatus
from beyondpay.merchants.service import merchant_service
from beyondpay.webhooks.schemas import WebhookEndpointCreateParams
from beyondpay.webhooks.service import webhook_endpoint_service

BENCH_DATABASE: Final = "beyondpay_bench_webhooks"
DRAIN_S_MAX: Final = 60.0  # after the last commit, for the last webhook to arrive
WORKER_STOP_S_MAX: Final = 30.0
SMOKE_RATE: Final = 20.0
SMOKE_SECONDS: Final = 1.0
SMOKE_WARMUP_S: Final = 0.5
PRODUCER_POOL_SIZE: Final = 16


@dataclass
class Receiver:
    """A keep-alive HTTP/1.1 server on loopback that notes when each event id arrives."""

    arrived: dict[str, float] = field(default_factory=dict)
    port: int = 0
    first: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.decode("latin-1").split("\r\n")[1:]:
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                body = await reader.readexactly(length)
                self.arrived.setdefault(orjson.loads(body)["id"], time.monotonic())
                self.first.set()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@dataclass
class Run:
    committed: dict[str, float] = field(default_factory=dict)
    measured: set[str] = field(default_factory=set)


async def produce(
    commit_one: Callable[[int], Awaitable[str]], rate: float, seconds: float, warmup: float
) -> Run:
    """Open loop: commit number i is started at i / rate, however long earlier ones take."""
    run = Run()
    started = time.monotonic()
    total = int(rate * (seconds + warmup))

    async def one(number: int) -> None:
        event_id = await commit_one(number)
        run.committed[event_id] = time.monotonic()
        if number >= rate * warmup:
            run.measured.add(event_id)

    tasks = []
    for number in range(total):
        delay = started + number / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(number)))
    await asyncio.gather(*tasks)
    return run


async def drain(run: Run, receiver: Receiver) -> None:
    deadline = time.monotonic() + DRAIN_S_MAX
    while not run.committed.keys() <= receiver.arrived.keys():
        if time.monotonic() > deadline:
            missing = len(run.committed.keys() - receiver.arrived.keys())
            raise SystemExit(f"{missing} webhooks did not arrive within {DRAIN_S_MAX} s")
        await asyncio.sleep(0.05)


def figures(run: Run, receiver: Receiver) -> dict[str, float]:
    latencies = sorted(
        (receiver.arrived[event_id] - run.committed[event_id]) * 1000 for event_id in run.measured
    )
    cuts = statistics.quantiles(latencies, n=100)
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98], "max": latencies[-1]}


async def prepare(url: str, ring: KeyRing, receiver: Receiver) -> str:
    """An active merchant with one webhook endpoint for every event; the merchant's id."""
    database = Database(url)
    try:
        async with database.unit_of_work() as session:
            created = await merchant_service.create(session, ring, name="Bench")
            await merchant_service.set_status(session, created.id, MerchantStatus.active)
            caller = Caller(
                key_id="key_bench",
                kind=KeyKind.secret,
                livemode=False,
                merchant_id=created.id,
                merchant_status=MerchantStatus.active,
            )
            await webhook_endpoint_service.create(
                session,
                ring,
                caller,
                WebhookEndpointCreateParams(
                    url=f"http://127.0.0.1:{receiver.port}/hook", enabled_events=["*"]
                ),
            )
    finally:
        await database.dispose()
    return created.id


def start_worker(url: str, ring_text: str) -> subprocess.Popen[bytes]:
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("BEYONDPAY_") or name == "BEYONDPAY_NATS_URL"
    }
    environment.update(
        BEYONDPAY_DATABASE_URL=url, BEYONDPAY_SECRET_KEYS=ring_text, BEYONDPAY_LOG_LEVEL="warning"
    )
    return subprocess.Popen(
        [sys.executable, "-c", "from beyondpay.cli import main; main()", "worker"],
        env=environment,
        stdout=subprocess.DEVNULL,
    )


async def measure_beyondpay(url: str, arguments: argparse.Namespace) -> dict[str, float]:
    ring_text = KeyRing.generate_entry("bench")
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    merchant_id = await prepare(url, KeyRing.parse(ring_text), receiver)
    database = Database(url, pool_size=PRODUCER_POOL_SIZE, max_overflow=0)
    worker = start_worker(url, ring_text)

    async def commit_one(number: int) -> str:
        async with database.unit_of_work() as session:
            return await event_service.record(
                session,
                merchant_id=merchant_id,
                livemode=False,
                type="customer.updated",
                object={"id": f"cus_bench{number % 1000}", "object": "customer"},
            )

    try:
        # The first delivery proves the worker is up before the clock starts.
        await commit_one(-1)
        async with asyncio.timeout(DRAIN_S_MAX):
            await receiver.first.wait()
        run = await produce(commit_one, arguments.rate, arguments.seconds, arguments.warmup)
        await drain(run, receiver)
        return figures(run, receiver)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(WORKER_STOP_S_MAX)
        await database.dispose()
        server.close()


async def measure_reference(url: str, arguments: argparse.Namespace) -> dict[str, float]:
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    conninfo = libpq_url(url)
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as setup:
        await setup.execute("CREATE TABLE bench_notified (id text PRIMARY KEY, body jsonb)")
    listener = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
    await listener.execute("LISTEN bench_notified")
    client = httpx.AsyncClient(timeout=15, limits=httpx.Limits(max_connections=16))
    posts: set[asyncio.Task[Any]] = set()

    async def forward() -> None:
        async for notify in listener.notifies():
            body = orjson.dumps({"id": notify.payload, "object": "event"})
            task = asyncio.create_task(
                client.post(f"http://127.0.0.1:{receiver.port}/hook", content=body)
            )
            posts.add(task)
            task.add_done_callback(posts.discard)

    database = Database(url, pool_size=PRODUCER_POOL_SIZE, max_overflow=0)

    async def commit_one(number: int) -> str:
        event_id = f"evt_reference{number}"
        async with database.connect() as connection:
            raw = await connection.get_raw_connection()
            driver: Any = raw.driver_connection
            async with driver.transaction():
                await driver.execute(
                    "WITH row AS (INSERT INTO bench_notified VALUES (%s, %s))"
                    " SELECT pg_notify('bench_notified', %s)",
                    (event_id, orjson.dumps({"number": number}).decode(), event_id),
                )
        return event_id

    forwarding = asyncio.create_task(forward())
    try:
        run = await produce(commit_one, arguments.rate, arguments.seconds, arguments.warmup)
        await drain(run, receiver)
        return figures(run, receiver)
    finally:
        forwarding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await forwarding
        await client.aclose()
        await listener.close()
        await database.dispose()
        server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds not measured")
    parser.add_argument("--smoke", action="store_true", help="a second of events (for CI)")
    arguments = parser.parse_args()
    if arguments.smoke:
        arguments.rate, arguments.seconds = SMOKE_RATE, SMOKE_SECONDS
        arguments.warmup = SMOKE_WARMUP_S
    server, embedded = server_url()
    try:
        url = recreate(server, BENCH_DATABASE)
        upgrade(url)
        print(
            f"webhook latency, commit → receipt, {arguments.rate:g} events/s for"
            f" {arguments.seconds:g} s after {arguments.warmup:g} s of warm-up"
        )
        for name, measure in (
            ("beyondpay (worker process, one endpoint)", measure_beyondpay),
            ("reference (INSERT + NOTIFY → LISTEN → POST)", measure_reference),
        ):
            if name.startswith("reference"):
                url = recreate(server, BENCH_DATABASE)
            result = asyncio.run(measure(url, arguments))
            print(
                f"  {name:48} p50 {result['p50']:7.1f} ms  p95 {result['p95']:7.1f} ms"
                f"  p99 {result['p99']:7.1f} ms  max {result['max']:7.1f} ms"
            )
    finally:
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    main()
