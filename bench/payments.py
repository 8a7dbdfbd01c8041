"""Paid test intents per second over HTTP, beside a bare FastAPI route doing one INSERT measured
in the same run with the same load generator and server settings.

    .venv/bin/python bench/payments.py [--seconds 10] [--connections 64] [--warmup 2]
                                       [--merchants 100] [--workers 1] [--smoke]
                                       [--saturation-only] [--profile FILE]

Uses BEYONDPAY_DATABASE_URL (the server; the benchmark creates its own database on it) or the
embedded server. The servers are bench/api.py's (uvicorn, uvloop and httptools when installed,
no access log, rate limits off, no background worker; one process pinned to the first core, or
``--workers N`` processes on one port as `beyondpay serve --workers N` runs them); the load
generator is a process of its own, pinned to the second core.

Every paid intent is one ``POST /v1/payment_intents`` with ``amount``, ``currency=inr``,
``confirm=true``, an ``Idempotency-Key`` and a **card never used before**:
``payment_method_data[card][number]`` is a distinct Luhn-valid 16-digit number (``400012…``,
none of the sandbox's magic numbers), expiring next December, so each payment is a new payer as
in real traffic and the default risk rules stay on without firing. Only a 200 whose intent is
``succeeded`` counts; every other answer is counted by its kind and printed, and the run exits
1 if there was any (a benchmark that silently measured declines would lie). Measured, in order:

- **saturation** (closed loop, ``--connections`` keep-alive connections, each sending its next
  request when the last is answered), on the sandbox card rail answering at once; the rate is
  the paid intents answered inside the measured window, whenever they were sent (at 64
  connections one answer can take longer than the window), and so are the latencies:
  - one merchant;
  - ``--merchants`` merchants, the requests spread round-robin over their secret keys;
- **latency at half the maximum** (open loop): requests sent on a fixed schedule at half the
  one-merchant saturation rate, each answered by one of ``--connections`` connections; a latency
  runs from the request's scheduled time, so time queued for a connection counts (no
  coordinated omission);
- the reference, bare FastAPI ``POST /v1/customers`` plus one ``INSERT`` (bench/api.py), at
  saturation and at the same half rate; the platform-added latency is beyondpay's percentile
  minus the reference's;
- saturation again, one merchant, with the sandbox card rail answering in 200 ms
  (``BEYONDPAY_SANDBOX_CARD_LATENCY_MS=200``), and the ratio slow rail / instant rail.

Server CPU per paid intent is the server processes' user + system CPU (/proc) while the load
ran, divided by the intents paid meanwhile. ``--profile FILE`` records the one-merchant
saturation run with py-spy (collapsed stacks). ``--smoke`` runs every step for about a second
with a few connections and merchants, for CI: its figures mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import datetime
import itertools
import json
import os
import resource
import secrets
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, Final

import psycopg

import api
from bench_support import recreate, server_url
from beyondpay.db.migrate import upgrade
from beyondpay.db.urls import libpq_url

BENCH_DATABASE: Final = "beyondpay_bench_payments"
AMOUNT_MINOR: Final = 49_900
MERCHANTS_MANY_DEFAULT: Final = 100
SLOW_CARD_LATENCY_MS: Final = 200
# Test cards: 400012 + a 9-digit counter + the Luhn digit. No sandbox magic number starts so.
CARD_PREFIX: Final = "400012"
CARDS_PER_RUN_MAX: Final = 10_000_000
WARMUP_CARD_BASE: Final = 900_000_000  # then each server's warm-up takes the next cards
WARMUP_PAYMENTS_PER_PROCESS: Final = 3
CARD_EXPIRY_MONTH: Final = 12
CARD_CVC: Final = "123"
KEYS_VARIABLE: Final = "BEYONDPAY_BENCH_KEYS"
SMOKE_MERCHANTS: Final = 3
SUCCEEDED: Final = b'"status":"succeeded"'
_warmup_cards = itertools.count(WARMUP_CARD_BASE)

# One unit of work on a connection: True when it counts (an insert, or an intent paid).
Exchange = Callable[[asyncio.StreamReader, asyncio.StreamWriter, str], Awaitable[bool]]


def luhn_completed(digits: str) -> str:
    """``digits`` with the check digit that makes the whole number Luhn-valid."""
    total = 0
    for position, character in enumerate(reversed(digits)):
        value = int(character)
        if position % 2 == 0:  # doubled: every second digit from the check digit's left
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return digits + str((10 - total % 10) % 10)


def card_number(index: int) -> str:
    return luhn_completed(f"{CARD_PREFIX}{index:09d}")


# --- the requests (in the generator process) --------------------------------------------------


def _post(port: int, key: str, path: str, body: str, nonce: str) -> bytes:
    encoded = body.encode()
    return (
        f"POST {path} HTTP/1.1\r\nHost: {api.HOST}:{port}\r\n"
        f"Authorization: Bearer {key}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Idempotency-Key: {nonce}\r\nContent-Length: {len(encoded)}\r\n\r\n"
    ).encode() + encoded


def describe(status: int, content: bytes) -> str:
    """What an answer that is not a paid intent was, short enough to count by kind."""
    try:
        answer = json.loads(content)
    except ValueError:
        return f"HTTP {status}, not JSON"
    if status != 200:
        error = answer.get("error", {})
        code = error.get("decline_code") or error.get("code") or error.get("type")
        return f"HTTP {status} {code}"
    next_action = (answer.get("next_action") or {}).get("type")
    return f"HTTP 200, intent {answer.get('status')}" + (f" ({next_action})" if next_action else "")


def exchange_for(
    kind: str, port: int, keys: list[str], card_base: int, unexpected: collections.Counter[str]
) -> Exchange:
    """One unit of work of ``kind``: a customer inserted, or an intent paid with a new card."""
    expiry_year = datetime.date.today().year + 1
    card = "payment_method_data%5Bcard%5D%5B"
    counter = iter(range(CARDS_PER_RUN_MAX))

    async def insert(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: str) -> bool:
        body = f"name=Customer+{n}&email=c{n}%40example.com&metadata%5Border%5D={n}"
        writer.write(_post(port, keys[0], "/v1/customers", body, n))
        status, content = await api._response(reader)
        if status != 200:
            unexpected[describe(status, content)] += 1
        return status == 200

    async def pay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: str) -> bool:
        index = next(counter)
        body = (
            f"amount={AMOUNT_MINOR}&currency=inr&confirm=true"
            f"&payment_method_data%5Btype%5D=card&{card}number%5D={card_number(card_base + index)}"
            f"&{card}exp_month%5D={CARD_EXPIRY_MONTH}&{card}exp_year%5D={expiry_year}"
            f"&{card}cvc%5D={CARD_CVC}"
        )
        writer.write(_post(port, keys[index % len(keys)], "/v1/payment_intents", body, n))
        status, content = await api._response(reader)
        paid = status == 200 and SUCCEEDED in content
        if not paid:
            unexpected[describe(status, content)] += 1
        return paid

    return {"insert": insert, "pay": pay}[kind]


# --- the load generator (a child process: ``--load PORT``) ------------------------------------


@contextlib.asynccontextmanager
async def _connected(port: int) -> Any:
    reader, writer = await asyncio.open_connection(api.HOST, port)
    try:
        yield reader, writer
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _closed_loop(
    exchange: Exchange, port: int, window: tuple[float, float], latencies: list[float]
) -> int:
    """One connection sending its next unit when the last is done; the units that counted."""
    measure_from, measure_until = window
    nonce = secrets.token_hex(6)
    counted = 0
    sent = 0
    async with _connected(port) as (reader, writer):
        while (started := time.perf_counter()) < measure_until:
            sent += 1
            if not await exchange(reader, writer, f"{nonce}-{sent}"):
                continue
            counted += 1
            finished = time.perf_counter()
            if measure_from <= finished <= measure_until:
                latencies.append(finished - started)
    return counted


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
    counted = 0

    async def one(number: int, scheduled: float) -> None:
        nonlocal counted
        connection = await idle.get()
        try:
            paid = await exchange(*connection, f"{nonce}-{number}")
        finally:
            idle.put_nowait(connection)
        if not paid:
            return
        counted += 1
        finished = time.perf_counter()
        if measure_from <= finished <= measure_until:
            latencies.append(finished - scheduled)

    start = time.perf_counter()
    tasks: set[asyncio.Task[None]] = set()
    number = 0
    while (scheduled := start + number / rate) < measure_until:
        await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
        task = asyncio.create_task(one(number, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        number += 1
    await asyncio.gather(*tasks)
    while not idle.empty():
        _reader, writer = idle.get_nowait()
        writer.close()
    return counted


async def generate(arguments: argparse.Namespace) -> None:
    unexpected: collections.Counter[str] = collections.Counter()
    keys = os.environ[KEYS_VARIABLE].split(",")
    exchange = exchange_for(arguments.kind, arguments.load, keys, arguments.card_base, unexpected)
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
                "unexpected": dict(unexpected),
                "seconds": arguments.seconds,
                "p50_ms": latencies[count // 2] * 1000 if count else float("nan"),
                "p99_ms": latencies[min(count - 1, count * 99 // 100)] * 1000
                if count
                else float("nan"),
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
    except (OSError, asyncio.IncompleteReadError, api.UnexpectedResponse) as exc:
        print(f"load generator: {exc!r}", file=sys.stderr)
        sys.exit(1)


# --- the run ----------------------------------------------------------------------------------


def settle(url: str) -> None:
    """Each measurement starts on a settled database: no checkpoint pending from the last one."""
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
        connection.execute("CHECKPOINT")


async def create_merchants(url: str, ring_text: str, count: int) -> list[str]:
    """``count`` active merchants; their secret test keys."""
    from beyondpay.db.session import Database
    from beyondpay.kit.crypto import KeyRing
    from beyondpay.merchants.domain import KeyKind, MerchantStatus
    from beyondpay.merchants.service import merchant_service

    ring = KeyRing.parse(ring_text)
    database = Database(url, pool_size=1, max_overflow=0)
    keys = []
    try:
        for number in range(count):
            async with database.unit_of_work() as session:
                created = await merchant_service.create(session, ring, name=f"Bench {number}")
                await merchant_service.set_status(session, created.id, MerchantStatus.active)
            keys.append(
                next(k.secret for k in created.keys if k.kind is KeyKind.secret and not k.livemode)
            )
    finally:
        await database.dispose()
    return keys


class Server:
    """One of bench/api.py's servers, running for several measurements."""

    def __init__(self, kind: str, url: str, ring_text: str, workers: int, **settings: str):
        self.port = api.free_port()
        environment = {**os.environ, api.RING_VARIABLE: ring_text, **settings}
        self.process = subprocess.Popen(
            api._child(*api.server_arguments(kind, url, self.port, workers)), env=environment
        )
        api.wait_ready(self.port, self.process)


def warm_up(port: int, key: str, workers: int) -> None:
    """Pays a few intents before any clock starts: a process's first payment loads the risk
    model, which is start-up cost, not a payment's. New connections, so each process gets some."""
    import httpx

    expiry_year = datetime.date.today().year + 1
    for _ in range(WARMUP_PAYMENTS_PER_PROCESS * workers):
        answer = httpx.post(
            f"http://{api.HOST}:{port}/v1/payment_intents",
            headers={"Authorization": f"Bearer {key}", "Idempotency-Key": secrets.token_hex(8)},
            data={
                "amount": AMOUNT_MINOR,
                "currency": "inr",
                "confirm": "true",
                "payment_method_data[type]": "card",
                "payment_method_data[card][number]": card_number(next(_warmup_cards)),
                "payment_method_data[card][exp_month]": CARD_EXPIRY_MONTH,
                "payment_method_data[card][exp_year]": expiry_year,
                "payment_method_data[card][cvc]": CARD_CVC,
            },
            timeout=60,
        )
        if answer.status_code != 200 or answer.json()["status"] != "succeeded":
            raise RuntimeError(f"a warm-up payment was not paid: {answer.text[:500]}")


@contextlib.contextmanager
def running(
    kind: str, url: str, ring_text: str, workers: int, key: str, **settings: str
) -> Iterator[Server]:
    server = Server(kind, url, ring_text, workers, **settings)
    try:
        if kind == "beyondpay":
            warm_up(server.port, key, workers)
        yield server
    finally:
        api.stop(server.process)


class Measurer:
    def __init__(self, url: str, arguments: argparse.Namespace) -> None:
        self.url = url
        self.arguments = arguments
        self.cards_used = 0
        self.unexpected: collections.Counter[str] = collections.Counter()

    def __call__(
        self,
        server: Server,
        kind: str,
        keys: list[str],
        rate: float | None = None,
        profile: bool = False,
    ) -> dict[str, Any]:
        arguments = self.arguments
        if not arguments.smoke:
            settle(self.url)
        profiler = None
        card_base = self.cards_used
        self.cards_used += CARDS_PER_RUN_MAX
        cpu_before_s = api.process_cpu_s(server.process.pid)
        if profile and arguments.profile:
            profiler = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("py-spy")),
                    *("record", "--pid", str(server.process.pid), "--format", "raw"),
                    *("--rate", "250", "--subprocesses", "--output", arguments.profile),
                    *("--duration", str(int(arguments.warmup + arguments.seconds))),
                ],
                stdout=subprocess.DEVNULL,
            )
        try:
            generator = subprocess.run(
                [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    *("--load", str(server.port), "--kind", kind),
                    *("--card-base", str(card_base)),
                    *("--connections", str(arguments.connections)),
                    *("--warmup", str(arguments.warmup), "--seconds", str(arguments.seconds)),
                    *(("--rate", str(rate)) if rate else ()),
                ],
                env={**os.environ, KEYS_VARIABLE: ",".join(keys)},
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            if profiler is not None:
                profiler.wait()
        if generator.returncode != 0:
            raise RuntimeError(f"the load generator failed: {generator.stderr.strip()}")
        result: dict[str, Any] = json.loads(generator.stdout)
        cpu_s = api.process_cpu_s(server.process.pid) - cpu_before_s
        result["server_cpu_ms"] = cpu_s * 1000 / max(1, result["units_with_warmup"])
        result["rate"] = result["units"] / result["seconds"]
        self.unexpected.update(result["unexpected"])
        return result


def _line(label: str, result: dict[str, Any], unit: str) -> str:
    line = (
        f"  {label:<44} {result['rate']:>7,.0f} {unit}/s"
        f"   p50 {result['p50_ms']:7.2f} ms   p99 {result['p99_ms']:7.2f} ms"
        f"   server CPU {result['server_cpu_ms']:.2f} ms/{unit[:-1]}"
        f"   (generator CPU {result['generator_cpu']:.0%})"
    )
    for answer, count in sorted(result["unexpected"].items()):
        line += f"\n    NOT PAID: {count} answers: {answer}"
    return line


def run(arguments: argparse.Namespace) -> int:
    from beyondpay.kit.crypto import KeyRing

    ring_text = KeyRing.generate_entry("bench")
    server, embedded = server_url()
    workers = arguments.workers
    try:
        url = recreate(server, BENCH_DATABASE)
        upgrade(url)
        keys = asyncio.run(create_merchants(url, ring_text, 1 + arguments.merchants))
        one, many = keys[:1], keys[1:]
        measure = Measurer(url, arguments)
        options = api.server_options()
        print(
            f"payments benchmark: paid test intents (a new Luhn-valid card each, sandbox card"
            f" rail), {arguments.connections} connections, {arguments.seconds:g} s after"
            f" {arguments.warmup:g} s of warm-up; {api.server_description(workers)}"
            f" ({options['loop']}, {options['http']}), {os.cpu_count()} cores"
            + (" (smoke: figures mean nothing)" if arguments.smoke else "")
        )
        print("saturation (closed loop), card rail answering at once:", flush=True)
        with running("beyondpay", url, ring_text, workers, one[0]) as instant:
            paid = measure(instant, "pay", one, profile=True)
            print(_line("beyondpay, one merchant", paid, "intents"), flush=True)
            if arguments.saturation_only:
                again = measure(instant, "pay", one)
                print(_line("beyondpay, one merchant, again", again, "intents"), flush=True)
                return 1 if measure.unexpected else 0
            spread = measure(instant, "pay", many)
            print(_line(f"beyondpay, {len(many)} merchants round-robin", spread, "intents"))
            half = max(1.0, round(paid["rate"] / 2, 1))
            paced = measure(instant, "pay", one, rate=half)
        with running("insert", url, ring_text, workers, one[0]) as reference_server:
            reference = measure(reference_server, "insert", one)
            print(_line("bare FastAPI + one INSERT (reference)", reference, "inserts"))
            paced_reference = measure(reference_server, "insert", one, rate=half)
        for label, result in (("one merchant", paid), (f"{len(many)} merchants", spread)):
            print(
                f"  ratio, paid intents/s ({label}) / reference: "
                f"{result['rate'] / reference['rate']:.1%} (goal: at least 15%)"
            )
        print(f"latency at {half:g}/s, half of one merchant's maximum (open loop):")
        print(_line("bare FastAPI + one INSERT (reference)", paced_reference, "inserts"))
        print(_line("beyondpay, one merchant", paced, "intents"))
        added_p50 = paced["p50_ms"] - paced_reference["p50_ms"]
        added_p99 = paced["p99_ms"] - paced_reference["p99_ms"]
        print(
            f"  added by the platform: p50 {added_p50:+.2f} ms, p99 {added_p99:+.2f} ms"
            " (goal: p99 at most 25 ms)"
        )
        print(f"saturation, card rail answering in {SLOW_CARD_LATENCY_MS} ms:", flush=True)
        with running(
            "beyondpay",
            url,
            ring_text,
            workers,
            one[0],
            BEYONDPAY_SANDBOX_CARD_LATENCY_MS=str(SLOW_CARD_LATENCY_MS),
        ) as slow_server:
            slow = measure(slow_server, "pay", one)
        print(_line("beyondpay, one merchant", slow, "intents"))
        print(
            f"  ratio, {SLOW_CARD_LATENCY_MS} ms rail / instant rail: "
            f"{slow['rate'] / paid['rate'] if paid['rate'] else float('nan'):.1%}"
            " (goal: at least 50%)"
        )
        print(
            f"  server CPU per paid intent (one merchant, instant): {paid['server_cpu_ms']:.2f} ms"
        )
    finally:
        if embedded is not None:
            embedded.stop()
    if measure.unexpected:
        print("answers that were not a paid intent (the figures count only paid intents):")
        for answer, count in measure.unexpected.most_common():
            print(f"  {count} answers: {answer}")
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--merchants", type=int, default=MERCHANTS_MANY_DEFAULT)
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument("--smoke", action="store_true", help="about a second per step (for CI)")
    parser.add_argument("--profile", metavar="FILE", help="py-spy collapsed stacks of beyondpay")
    parser.add_argument(
        "--saturation-only",
        action="store_true",
        help="only the one-merchant saturation, twice (to compare two commits' CPU quickly)",
    )
    # The load generator's own arguments.
    parser.add_argument("--load", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--kind", choices=["insert", "pay"], help=argparse.SUPPRESS)
    parser.add_argument("--card-base", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.load:
        load(arguments)
        return 0
    api.smoke(arguments)
    if arguments.smoke:
        arguments.merchants = min(arguments.merchants, SMOKE_MERCHANTS)
    return run(arguments)


if __name__ == "__main__":
    sys.exit(main())
