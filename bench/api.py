"""Merchant API throughput: authenticated, idempotent ``POST /v1/customers`` against a bare
FastAPI route, measured in the same run with the same load generator and server settings.

    .venv/bin/python bench/api.py [--seconds 10] [--connections 32] [--warmup 2] [--workers 1]
                                  [--smoke]

Uses BEYONDPAY_DATABASE_URL (the server; the benchmark creates its own database on it) or the
embedded server. Three servers are measured one after the other, each served by uvicorn in one
process (uvloop and httptools when installed, no access log) on a free loopback port:

- a bare FastAPI app whose ``POST /v1/customers`` decodes the form body and returns a JSON
  object, with no database work (the reference of issue 4);
- the same bare route plus one ``INSERT`` of the customer row through a psycopg pool, to show
  what one database round trip costs;
- beyondpay's own app: key authentication, parameter validation, the idempotency key's lock,
  row and stored response, the customer, the audit record, one commit.

The load comes from a small asyncio HTTP/1.1 client in a process of its own: ``--connections``
keep-alive connections, each sending form-encoded customers (``name``, ``email``,
``metadata[order]``) with ``Authorization: Bearer sk_test_…`` and a fresh ``Idempotency-Key``
per request. Only 200s count; any other answer stops the benchmark. On a machine with two or
more cores the server is pinned to the first and the generator to the second (PostgreSQL
shares both); with ``--workers N`` each server runs N uvicorn processes on one port, unpinned.
``--profile FILE`` records beyondpay's server with py-spy (collapsed stacks). ``--smoke`` runs
every step for a second on a few connections: CI runs it so a benchmark that breaks fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Final

import psycopg
from fastapi import FastAPI, Request  # at module level: the route's annotations resolve here

from bench_support import recreate, server_url
from beyondpay.db.migrate import upgrade
from beyondpay.db.urls import libpq_url

BENCH_DATABASE: Final = "beyondpay_bench_api"
RING_VARIABLE: Final = "BEYONDPAY_BENCH_SECRET_KEYS"
SERVER_KIND_VARIABLE: Final = "BEYONDPAY_BENCH_SERVER_KIND"
SERVER_DATABASE_VARIABLE: Final = "BEYONDPAY_BENCH_SERVER_DATABASE_URL"
HOST: Final = "127.0.0.1"
SERVER_START_S_MAX: Final = 120.0  # a loaded CI machine starts a server slowly
SERVER_STOP_S_MAX: Final = 10.0
SERVER_CPU: Final = 0
# ``--smoke``: a second of load per figure on a few connections; figures mean nothing then.
SMOKE_SECONDS: Final = 1.0
SMOKE_WARMUP_S: Final = 0.5
SMOKE_CONNECTIONS: Final = 4
GENERATOR_CPU: Final = 1
# Each server in the order measured, with the name printed beside its figure.
SERVERS: Final = {
    "bare": "bare FastAPI route",
    "insert": "bare FastAPI + one INSERT",
    "beyondpay": "beyondpay POST /v1/customers",
}


def settle(url: str) -> None:
    """Each server starts on a settled database: no checkpoint pending from the last one's rows."""
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE customers, idempotency_keys, audit_events, api_keys")
        connection.execute("CHECKPOINT")


def pin(cpu: int) -> None:
    if (os.cpu_count() or 1) > cpu and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def server_options() -> dict[str, str]:
    options = {"loop": "asyncio", "http": "h11"}
    with contextlib.suppress(ImportError):
        import uvloop  # noqa: F401

        options["loop"] = "uvloop"
    with contextlib.suppress(ImportError):
        import httptools  # noqa: F401

        options["http"] = "httptools"
    return options


async def create_merchant(url: str, ring_text: str) -> str:
    """An active merchant; its secret test key."""
    from beyondpay.db.session import Database
    from beyondpay.kit.crypto import KeyRing
    from beyondpay.merchants.domain import KeyKind, MerchantStatus
    from beyondpay.merchants.service import merchant_service

    database = Database(url)
    try:
        async with database.unit_of_work() as session:
            created = await merchant_service.create(session, KeyRing.parse(ring_text), name="Bench")
            await merchant_service.set_status(session, created.id, MerchantStatus.active)
    finally:
        await database.dispose()
    return next(
        key.secret for key in created.keys if key.kind is KeyKind.secret and not key.livemode
    )


# --- the servers (run in a child process: ``--serve KIND``) ---------------------------------


def _customer_from_form(raw: bytes) -> dict[str, Any]:
    fields = urllib.parse.parse_qs(raw.decode("utf-8"))
    return {
        "name": fields["name"][0],
        "email": fields["email"][0],
        "metadata": {"order": fields["metadata[order]"][0]},
    }


def bare_app(database_url: str | None) -> FastAPI:
    """The reference: a FastAPI route as one would write it first. With ``database_url`` it
    also inserts the customer row, in autocommit (one round trip), through a psycopg pool."""
    from psycopg.types.json import Jsonb
    from psycopg_pool import AsyncConnectionPool

    from beyondpay.kit.ids import new_id

    pool: AsyncConnectionPool | None = None

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        nonlocal pool
        if database_url is not None:
            pool = AsyncConnectionPool(
                libpq_url(database_url),
                min_size=10,
                max_size=20,
                kwargs={"autocommit": True},
                open=False,
            )
            await pool.open(wait=True)
        yield
        if pool is not None:
            await pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/customers")
    async def create_customer(request: Request) -> dict[str, Any]:
        customer = _customer_from_form(await request.body())
        customer_id = new_id("cus")
        created = int(time.time())
        if pool is not None:
            async with pool.connection() as connection:
                await connection.execute(
                    "INSERT INTO customers (id, merchant_id, livemode, name, email, metadata,"
                    " created_at) VALUES (%s, %s, false, %s, %s, %s, now())",
                    (
                        customer_id,
                        "acct_bench",
                        customer["name"],
                        customer["email"],
                        Jsonb(customer["metadata"]),
                    ),
                )
        return {"id": customer_id, "object": "customer", "created": created, **customer}

    return app


def server_app(kind: str, database_url: str) -> FastAPI:
    if kind == "beyondpay":
        from beyondpay.app import create_app
        from beyondpay.kit.settings import Settings

        settings = Settings(
            secret_keys=os.environ[RING_VARIABLE],
            rate_limits_enabled=False,
            log_level="warning",
        )
        return create_app(settings, database_url)
    return bare_app(database_url if kind == "insert" else None)


def server_from_environment() -> FastAPI:
    """The app of each process of a ``--workers N`` server (uvicorn spawns them afresh)."""
    return server_app(os.environ[SERVER_KIND_VARIABLE], os.environ[SERVER_DATABASE_VARIABLE])


def serve(kind: str, database_url: str, port: int, workers: int = 1) -> None:
    """One process pinned to the first core, or ``workers`` processes (as `beyondpay serve
    --workers N` runs them) free to use every core."""
    import uvicorn

    options: dict[str, Any] = {
        "host": HOST,
        "port": port,
        "access_log": False,
        "log_level": "warning",
        **server_options(),
    }
    if workers == 1:
        pin(SERVER_CPU)
        uvicorn.run(server_app(kind, database_url), **options)
        return
    os.environ[SERVER_KIND_VARIABLE] = kind
    os.environ[SERVER_DATABASE_VARIABLE] = database_url
    uvicorn.run("api:server_from_environment", factory=True, workers=workers, **options)


# --- the load generator (run in a child process: ``--load PORT``) ---------------------------


class UnexpectedResponse(Exception):
    pass


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding":
            raise UnexpectedResponse(f"transfer-encoding {value.strip()} is not supported")
    if length is None:
        raise UnexpectedResponse("a response without Content-Length")
    return status, await reader.readexactly(length)


async def _connection(
    port: int, key: str, number: int, window: tuple[float, float], latencies: list[float]
) -> int:
    """Sends requests until the window closes; the number of answers (warm-up included)."""
    measure_from, measure_until = window
    nonce = secrets.token_hex(4)
    reader, writer = await asyncio.open_connection(HOST, port)
    fixed = (
        f"POST /v1/customers HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
        f"Authorization: Bearer {key}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
    ).encode()
    sent = 0
    try:
        while (started := time.perf_counter()) < measure_until:
            sent += 1
            order = f"{number}-{sent}"
            body = (
                f"name=Customer+{order}&email=c{order}%40example.com&metadata%5Border%5D={order}"
            ).encode()
            variable = f"Idempotency-Key: {nonce}-{order}\r\nContent-Length: {len(body)}\r\n\r\n"
            writer.write(fixed + variable.encode() + body)
            status, content = await _response(reader)
            finished = time.perf_counter()
            if status != 200:
                raise UnexpectedResponse(f"HTTP {status}: {content[:500]!r}")
            if measure_from <= started and finished <= measure_until:
                latencies.append(finished - started)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
    return sent


async def generate(port: int, key: str, connections: int, warmup: float, seconds: float) -> None:
    latencies: list[float] = []
    measure_from = time.perf_counter() + warmup
    window = (measure_from, measure_from + seconds)
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    answered = await asyncio.gather(
        *(_connection(port, key, number, window, latencies) for number in range(connections))
    )
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    cpu_s = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    latencies.sort()
    count = len(latencies)
    print(
        json.dumps(
            {
                "requests": count,
                "requests_with_warmup": sum(answered),
                "seconds": seconds,
                "p50_ms": latencies[count // 2] * 1000 if count else None,
                "p99_ms": latencies[min(count - 1, count * 99 // 100)] * 1000 if count else None,
                "generator_cpu": cpu_s / (warmup + seconds),
            }
        )
    )


def load(port: int, key: str, connections: int, warmup: float, seconds: float) -> None:
    pin(GENERATOR_CPU)
    if server_options()["loop"] == "uvloop":
        import uvloop

        uvloop.install()
    try:
        asyncio.run(generate(port, key, connections, warmup, seconds))
    except UnexpectedResponse as exc:
        print(f"load generator: {exc}", file=sys.stderr)
        sys.exit(1)


# --- the run ----------------------------------------------------------------------------------


def _child(*arguments: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), *arguments]


def wait_ready(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + SERVER_START_S_MAX
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode} before it was ready")
        try:
            with socket.create_connection((HOST, port), timeout=1) as connection:
                connection.sendall(f"GET /healthz HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
                if connection.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not answer /healthz in time")


def process_cpu_s(pid: int) -> float:
    """User and system CPU time of a process and its live descendants (Linux): the server's
    cost per request whatever else the machine is doing, however many processes serve."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total_s = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total_s += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        pending.extend(children.get(current, []))
    return total_s


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(SERVER_STOP_S_MAX)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def server_arguments(kind: str, url: str, port: int, workers: int) -> tuple[str, ...]:
    return ("--serve", kind, "--database-url", url, "--port", str(port), "--workers", str(workers))


def server_description(workers: int) -> str:
    if workers == 1:
        return "uvicorn, one process pinned to the first core"
    return f"uvicorn, {workers} processes (as `beyondpay serve --workers {workers}`), unpinned"


def smoke(arguments: argparse.Namespace) -> None:
    """``--smoke``: every step once, briefly, so CI sees a benchmark that no longer runs."""
    if arguments.smoke:
        arguments.seconds, arguments.warmup = SMOKE_SECONDS, SMOKE_WARMUP_S
        arguments.connections = min(arguments.connections, SMOKE_CONNECTIONS)


def measure(
    kind: str, url: str, key: str, arguments: argparse.Namespace, ring_text: str
) -> dict[str, Any]:
    port = free_port()
    environment = {**os.environ, RING_VARIABLE: ring_text}
    server = subprocess.Popen(
        _child(*server_arguments(kind, url, port, arguments.workers)), env=environment
    )
    profiler = None
    try:
        wait_ready(port, server)
        cpu_before_s = process_cpu_s(server.pid)
        if arguments.profile and kind == "beyondpay":
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
            _child(
                "--load",
                str(port),
                "--key",
                key,
                "--connections",
                str(arguments.connections),
                "--warmup",
                str(arguments.warmup),
                "--seconds",
                str(arguments.seconds),
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if generator.returncode != 0:
            raise RuntimeError(f"{SERVERS[kind]}: {generator.stderr.strip()}")
        result: dict[str, Any] = json.loads(generator.stdout)
        result["server_cpu_ms"] = (
            (process_cpu_s(server.pid) - cpu_before_s) * 1000 / result["requests_with_warmup"]
        )
        return result
    finally:
        if profiler is not None:
            profiler.wait()
        stop(server)


def run(arguments: argparse.Namespace) -> None:
    from beyondpay.kit.crypto import KeyRing

    ring_text = KeyRing.generate_entry("bench")
    server, embedded = server_url()
    try:
        url = recreate(server, BENCH_DATABASE)
        upgrade(url)
        key = asyncio.run(create_merchant(url, ring_text))
        options = server_options()
        print(
            f"merchant API benchmark: POST /v1/customers, {arguments.connections} connections,"
            f" {arguments.seconds:g} s after {arguments.warmup:g} s of warm-up;"
            f" {server_description(arguments.workers)} ({options['loop']}, {options['http']}),"
            f" {os.cpu_count()} cores{' (smoke: figures mean nothing)' if arguments.smoke else ''}"
        )
        figures: dict[str, float] = {}
        for kind in arguments.only or list(SERVERS):
            settle(url)
            result = measure(kind, url, key, arguments, ring_text)
            rate = result["requests"] / result["seconds"]
            figures[kind] = rate
            print(
                f"  {SERVERS[kind]:<30} {rate:>8,.0f} requests/s"
                f"   p50 {result['p50_ms']:6.2f} ms   p99 {result['p99_ms']:6.2f} ms"
                f"   server CPU {result['server_cpu_ms']:.2f} ms/request"
                f"   (generator CPU {result['generator_cpu']:.0%})",
                flush=True,
            )
        if "beyondpay" in figures:
            for reference in ("bare", "insert"):
                if reference in figures:
                    print(
                        f"  ratio, beyondpay / {SERVERS[reference]}:"
                        f" {figures['beyondpay'] / figures[reference]:.0%}"
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
    parser.add_argument("--only", action="append", choices=list(SERVERS))
    parser.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    parser.add_argument("--smoke", action="store_true", help="a second per figure (for CI)")
    parser.add_argument("--profile", metavar="FILE", help="py-spy collapsed stacks of beyondpay")
    # The children: a server, and the load generator.
    parser.add_argument("--serve", choices=list(SERVERS), help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--load", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve:
        serve(arguments.serve, arguments.database_url, arguments.port, arguments.workers)
    elif arguments.load:
        load(
            arguments.load,
            arguments.key,
            arguments.connections,
            arguments.warmup,
            arguments.seconds,
        )
    else:
        smoke(arguments)
        run(arguments)


if __name__ == "__main__":
    sys.exit(main())
