"""Paid test intents per second over HTTP, beside a bare FastAPI route doing one INSERT measured
in the same run with the same load generator and server settings.

    .venv/bin/python bench/payments.py [--seconds 10] [--connections 32] [--warmup 2]

Uses BEYONDPAY_DATABASE_URL (the server; the benchmark creates its own database on it) or the
embedded server. The servers are bench/api.py's (uvicorn, one process, uvloop and httptools when
installed, no access log, rate limits off, no worker), started one after the other on a free
loopback port; the load generator is a process of its own. Measured, in order:

- **saturation** (closed loop, ``--connections`` keep-alive connections, each sending its next
  request when the last is answered):
  - the reference: bench/api.py's bare FastAPI ``POST /v1/customers`` plus one ``INSERT``;
  - one request per paid intent: ``POST /v1/payment_intents`` with ``amount``,
    ``currency=inr``, ``payment_method=pm_card_visa``, ``confirm=true`` and an
    ``Idempotency-Key``, on the sandbox card rail at zero latency (the default). Only a 200 whose
    intent is ``succeeded`` counts;
  - two requests per paid intent: the same create without ``confirm``, then
    ``POST /v1/payment_intents/{id}/confirm``, each with its own ``Idempotency-Key``;
- **latency at half the maximum** (open loop): requests are sent on a fixed schedule at half the
  one-request saturation rate, to the reference and to beyondpay, each answered by one of
  ``--connections`` connections; a latency runs from the request's scheduled time, so time
  spent queued for a connection counts (no coordinated omission). The platform-added latency is
  beyondpay's percentile minus the reference's.

On a machine with two or more cores the server is pinned to the first and the generator to the
second (PostgreSQL shares both). ``--profile FILE`` records beyondpay's one-request saturation
run with py-spy (collapsed stacks).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import secrets
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Final

import psycopg

import api
from bench_support import recreate, server_url
from beyondpay.db.migrate import upgrade
from beyondpay.db.urls import libpq_url

BENCH_DATABASE: Final = "beyondpay_bench_payments"
AMOUNT_MINOR: Final = 49_900
# What each measured kind sends, and which bench/api.py server answers it.
KINDS: Final = {
    "insert": ("insert", "bare FastAPI + one INSERT"),
    "confirm": ("beyondpay", "beyondpay, create+confirm (1 request)"),
    "two_step": ("beyondpay", "beyondpay, create, confirm (2 requests)"),
}
SUCCEEDED: Final = b'"status":"succeeded"'

Exchange = Callable[[asyncio.StreamReader, asyncio.StreamWriter, str], Awaitable[None]]


# --- the requests (in the generator process) --------------------------------------------------


def _post(port: int, key: str, path: str, body: str, nonce: str) -> bytes:
    encoded = body.encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: {api.HOST}:{port}\r\n"
        f"Authorization: Bearer {key}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Idempotency-Key: {nonce}\r\nContent-Length: {len(encoded)}\r\n\r\n"
    ).encode() + encoded


async def _send(writer: asyncio.StreamWriter, reader: asyncio.StreamReader, raw: bytes) -> bytes:
    writer.write(raw)
    status, content = await api._response(reader)
    if status != 200:
        raise api.UnexpectedResponse(f"HTTP {status}: {content[:500]!r}")
    return content


def exchange_for(kind: str, port: int, key: str) -> Exchange:
    """One unit of work of ``kind``: a customer inserted, or an intent paid (1 or 2 requests)."""
    intent = f"amount={AMOUNT_MINOR}&currency=inr&payment_method=pm_card_visa"

    async def insert(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: str) -> None:
        body = f"name=Customer+{n}&email=c{n}%40example.com&metadata%5Border%5D={n}"
        await _send(writer, reader, _post(port, key, "/v1/customers", body, n))

    async def confirm(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: str) -> None:
        raw = _post(port, key, "/v1/payment_intents", f"{intent}&confirm=true", n)
        content = await _send(writer, reader, raw)
        if SUCCEEDED not in content:
            raise api.UnexpectedResponse(f"an intent that did not succeed: {content[:500]!r}")

    async def two_step(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: str) -> None:
        created = await _send(writer, reader, _post(port, key, "/v1/payment_intents", intent, n))
        intent_id = json.loads(created)["id"]
        path = f"/v1/payment_intents/{intent_id}/confirm"
        content = await _send(writer, reader, _post(port, key, path, "", f"{n}-confirm"))
        if SUCCEEDED not in content:
            raise api.UnexpectedResponse(f"an intent that did not succeed: {content[:500]!r}")

    return {"insert": insert, "confirm": confirm, "two_step": two_step}[kind]


# --- the load generator (a child process: ``--load PORT``) ------------------------------------


async def _closed_loop(
    exchange: Exchange, port: int, window: tuple[float, float], latencies: list[float]
) -> int:
    """One connection sending its next unit when the last is done; the units done."""
    measure_from, measure_until = window
    nonce = secrets.token_hex(6)
    reader, writer = await asyncio.open_connection(api.HOST, port)
    done = 0
    try:
        while (started := time.perf_counter()) < measure_until:
            await exchange(reader, writer, f"{nonce}-{done}")
            done += 1
            finished = time.perf_counter()
            if measure_from <= started and finished <= measure_until:
                latencies.append(finished - started)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return done


async def _open_loop(
    exchange: Exchange,
    port: int,
    connections: int,
    rate: float,
    window: tuple[float, float],
    latencies: list[float],
) -> int:
    """Units started on a fixed schedule of ``rate`` a second, each on an idle connection."""
    measure_from, measure_until = window
    idle: asyncio.Queue[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = asyncio.Queue()
    for _ in range(connections):
        idle.put_nowait(await asyncio.open_connection(api.HOST, port))
    nonce = secrets.token_hex(6)
    failures: list[BaseException] = []

    async def one(number: int, scheduled: float) -> None:
        connection = await idle.get()
        try:
            await exchange(*connection, f"{nonce}-{number}")
        except Exception as error:
            failures.append(error)
            return
        finally:
            idle.put_nowait(connection)
        finished = time.perf_counter()
        if measure_from <= scheduled and finished <= measure_until:
            latencies.append(finished - scheduled)

    start = time.perf_counter()
    tasks: set[asyncio.Task[None]] = set()
    number = 0
    while not failures and (scheduled := start + number / rate) < measure_until:
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        task = asyncio.create_task(one(number, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        number += 1
    await asyncio.gather(*tasks)
    while not idle.empty():
        _reader, writer = idle.get_nowait()
        writer.close()
    if failures:
        raise failures[0]
    return number


async def generate(arguments: argparse.Namespace) -> None:
    exchange = exchange_for(arguments.kind, arguments.load, arguments.key)
    latencies: list[float] = []
    measure_from = time.perf_counter() + arguments.warmup
    window = (measure_from, measure_from + arguments.seconds)
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    if arguments.rate:
        done = await _open_loop(
            exchange, arguments.load, arguments.connections, arguments.rate, window, latencies
        )
    else:
        done = sum(
            await asyncio.gather(
                *(
                    _closed_loop(exchange, arguments.load, window, latencies)
                    for _ in range(arguments.connections)
                )
            )
        )
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    latencies.sort()
    count = len(latencies)
    print(
        json.dumps(
            {
                "units": count,
                "units_with_warmup": done,
                "seconds": arguments.seconds,
                "p50_ms": latencies[count // 2] * 1000 if count else None,
                "p99_ms": latencies[min(count - 1, count * 99 // 100)] * 1000 if count else None,
                "generator_cpu": cpu_s / (arguments.warmup + arguments.seconds),
            }
        )
    )


def load(arguments: argparse.Namespace) -> None:
    api.pin(api.GENERATOR_CPU)
    if api.server_options()["loop"] == "uvloop":
        import uvloop

        uvloop.install()
    try:
        asyncio.run(generate(arguments))
    except (api.UnexpectedResponse, OSError, asyncio.IncompleteReadError) as exc:
        print(f"load generator: {exc!r}", file=sys.stderr)
        sys.exit(1)


# --- the run ----------------------------------------------------------------------------------


def settle(url: str) -> None:
    """Each server starts on a settled database: no checkpoint pending from the last one's rows."""
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        connection.execute("CHECKPOINT")


def measure(
    kind: str,
    url: str,
    key: str,
    arguments: argparse.Namespace,
    ring_text: str,
    rate: float | None = None,
) -> dict[str, Any]:
    settle(url)
    port = api.free_port()
    environment = {**os.environ, api.RING_VARIABLE: ring_text}
    serve = ("--serve", KINDS[kind][0], "--database-url", url, "--port", str(port))
    server = subprocess.Popen(api._child(*serve), env=environment)
    profiler = None
    try:
        api.wait_ready(port, server)
        cpu_before_s = api.process_cpu_s(server.pid)
        if arguments.profile and kind == "confirm" and rate is None:
            profiler = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("py-spy")),
                    *("record", "--pid", str(server.pid), "--format", "raw", "--rate", "250"),
                    *("--output", arguments.profile),
                    *("--duration", str(int(arguments.warmup + arguments.seconds))),
                ],
                stdout=subprocess.DEVNULL,
            )
        generator = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                *("--load", str(port), "--key", key, "--kind", kind),
                *("--connections", str(arguments.connections)),
                *("--warmup", str(arguments.warmup), "--seconds", str(arguments.seconds)),
                *(("--rate", str(rate)) if rate else ()),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if generator.returncode != 0:
            raise RuntimeError(f"{KINDS[kind][1]}: {generator.stderr.strip()}")
        result: dict[str, Any] = json.loads(generator.stdout)
        result["server_cpu_ms"] = (
            (api.process_cpu_s(server.pid) - cpu_before_s) * 1000 / result["units_with_warmup"]
        )
        result["rate"] = result["units"] / result["seconds"]
        return result
    finally:
        if profiler is not None:
            profiler.wait()
        api.stop(server)


def _line(label: str, result: dict[str, Any], unit: str) -> str:
    return (
        f"  {label:<42} {result['rate']:>7,.0f} {unit}/s"
        f"   p50 {result['p50_ms']:6.2f} ms   p99 {result['p99_ms']:7.2f} ms"
        f"   server CPU {result['server_cpu_ms']:.2f} ms/{unit}"
        f"   (generator CPU {result['generator_cpu']:.0%})"
    )


def run(arguments: argparse.Namespace) -> None:
    from beyondpay.kit.crypto import KeyRing

    ring_text = KeyRing.generate_entry("bench")
    server, embedded = server_url()
    try:
        url = recreate(server, BENCH_DATABASE)
        upgrade(url)
        key = asyncio.run(api.create_merchant(url, ring_text))
        options = api.server_options()
        print(
            f"payments benchmark: paid test intents (pm_card_visa, sandbox card rail), "
            f"{arguments.connections} connections, {arguments.seconds:g} s after"
            f" {arguments.warmup:g} s of warm-up; uvicorn, one process ({options['loop']},"
            f" {options['http']}), {os.cpu_count()} cores"
        )
        print("saturation (closed loop):")
        saturated: dict[str, dict[str, Any]] = {}
        for kind in ("insert", "confirm", "two_step"):
            saturated[kind] = measure(kind, url, key, arguments, ring_text)
            unit = "inserts" if kind == "insert" else "intents"
            print(_line(KINDS[kind][1], saturated[kind], unit), flush=True)
        reference = saturated["insert"]["rate"]
        for kind in ("confirm", "two_step"):
            print(
                f"  ratio, {KINDS[kind][1]} / bare INSERT:"
                f" {saturated[kind]['rate'] / reference:.0%} (goal: at least 50%)"
            )
        half = round(saturated["confirm"]["rate"] / 2, 1)
        print(f"latency at {half:g}/s, half of beyondpay's maximum (open loop):")
        paced = {}
        for kind in ("insert", "confirm"):
            paced[kind] = measure(kind, url, key, arguments, ring_text, rate=half)
            unit = "inserts" if kind == "insert" else "intents"
            print(_line(KINDS[kind][1], paced[kind], unit), flush=True)
        added_p50 = paced["confirm"]["p50_ms"] - paced["insert"]["p50_ms"]
        added_p99 = paced["confirm"]["p99_ms"] - paced["insert"]["p99_ms"]
        print(
            f"  added by the platform: p50 {added_p50:+.2f} ms, p99 {added_p99:+.2f} ms;"
            f" beyondpay's p99 {paced['confirm']['p99_ms']:.2f} ms (goal: at most 10 ms)"
        )
    finally:
        if embedded is not None:
            embedded.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--profile", metavar="FILE", help="py-spy collapsed stacks of beyondpay")
    # The load generator's own arguments.
    parser.add_argument("--load", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--kind", choices=list(KINDS), help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.load:
        load(arguments)
    else:
        run(arguments)


if __name__ == "__main__":
    sys.exit(main())
