"""One racing process: ``python race_worker.py <url> <process> <seconds> <tasks> <batcher|direct>``.

Its tasks move money between the hot accounts until the time is up: plain transfers, holds that
are later posted (for less) or voided, and linked pairs. It prints one JSON line: the ids that
answered ok, the ids that failed, and a count per result.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from collections import Counter
from typing import Any

import psycopg

from beyondpay.db.urls import libpq_url
from beyondpay.ledger.batcher import LedgerBatcher
from beyondpay.ledger.domain import CreateTransferResult, Transfer, TransferFlags
from beyondpay.ledger.service import create_transfers_on

HOT_ACCOUNTS = [f"hot{index}" for index in range(10)]


class Racer:
    def __init__(self, url: str, process: int, use_batcher: bool) -> None:
        self.url = url
        self.process = process
        self.use_batcher = use_batcher
        self.batcher = LedgerBatcher(url) if use_batcher else None
        self.ok: list[str] = []
        self.failed: list[str] = []
        self.counts: Counter[str] = Counter()

    async def submit(self, transfers: list[Transfer]) -> list[CreateTransferResult]:
        if self.batcher is not None:
            results = await self.batcher.submit(transfers)
        else:
            connect = psycopg.AsyncConnection.connect(libpq_url(self.url))
            async with await connect as connection, connection.transaction():
                results = await create_transfers_on(connection, transfers)
        for transfer, result in zip(transfers, results, strict=True):
            self.counts[result.value] += 1
            (self.ok if result is CreateTransferResult.ok else self.failed).append(transfer.id)
        return results

    async def task(self, task: int, deadline: float) -> None:
        rng = random.Random(self.process * 1000 + task)
        holds: list[tuple[str, int]] = []
        serial = 0
        while time.monotonic() < deadline:
            serial += 1
            tid = f"p{self.process}-t{task}-{serial}"
            debit, credit = rng.sample(HOT_ACCOUNTS, 2)
            amount = rng.randint(1, 50)
            choice = rng.random()
            if choice < 0.5:
                await self.submit([Transfer(tid, debit, credit, amount, "inr", "race")])
            elif choice < 0.7:
                flags = TransferFlags.PENDING
                results = await self.submit(
                    [Transfer(tid, debit, credit, amount, "inr", "hold", flags)]
                )
                if results[0] is CreateTransferResult.ok:
                    holds.append((tid, amount))
            elif choice < 0.85 and holds:
                hold_id, hold_amount = holds.pop(rng.randrange(len(holds)))
                if rng.random() < 0.5:
                    post = Transfer(
                        tid,
                        amount=rng.randint(1, hold_amount),
                        flags=TransferFlags.POST_PENDING,
                        pending_id=hold_id,
                    )
                else:
                    post = Transfer(tid, flags=TransferFlags.VOID_PENDING, pending_id=hold_id)
                await self.submit([post])
            else:
                third = rng.choice([a for a in HOT_ACCOUNTS if a not in (debit, credit)])
                await self.submit(
                    [
                        Transfer(
                            tid + "a", debit, credit, amount, "inr", "pair", TransferFlags.LINKED
                        ),
                        Transfer(tid + "b", credit, third, amount + 5, "inr", "pair"),
                    ]
                )


async def main(url: str, process: int, seconds: float, tasks: int, mode: str) -> dict[str, Any]:
    racer = Racer(url, process, use_batcher=mode == "batcher")
    if racer.batcher is not None:
        await racer.batcher.start()
    deadline = time.monotonic() + seconds
    try:
        await asyncio.gather(*(racer.task(task, deadline) for task in range(tasks)))
    finally:
        if racer.batcher is not None:
            await racer.batcher.stop()
    return {"ok": racer.ok, "failed": racer.failed, "counts": dict(racer.counts)}


if __name__ == "__main__":
    url, process, seconds, tasks, mode = sys.argv[1:6]
    report = asyncio.run(main(url, int(process), float(seconds), int(tasks), mode))
    print(json.dumps(report))
