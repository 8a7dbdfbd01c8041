"""Coalesce concurrent callers in one process into batches: one transaction for many transfers.

A single transfer costs a transaction, a lock of two account rows and a journal head; a batch
of 8,190 costs about the same number of statements. Callers ``submit`` their transfers and
await their own results; writers take everything queued (up to ``BATCH_TRANSFERS_MAX``) as one
batch. The queue is bounded: a caller that finds it full waits for room (back-pressure).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import psycopg
from psycopg_pool import AsyncConnectionPool

from beyondpay.db.urls import libpq_url
from beyondpay.kit.invariants import invariant, unreachable
from beyondpay.ledger.domain import (
    BATCH_TRANSFERS_MAX,
    CreateTransferResult,
    Transfer,
    TransferFlags,
)
from beyondpay.ledger.service import RETRY_COUNT_MAX, apply_transfers

QUEUE_REQUESTS_MAX: Final = 65_536
# After the first request of a batch, how long a writer waits for more before it writes. Zero:
# what queues while a batch is being written forms the next batch by itself, and on 2 cores
# every wait we measured (0.5 ms, 2 ms) lowered throughput (docs/benchmarks.md).
BATCH_WAIT_S: Final = 0.0
# Batches written at once. One writer coalesces most (it was the fastest on 2 cores); more
# help when the database is across a network and round trips dominate.
WRITERS_COUNT: Final = 1


class BatcherClosedError(RuntimeError):
    pass


@dataclass(slots=True)
class _Request:
    transfers: Sequence[Transfer]
    future: asyncio.Future[list[CreateTransferResult]] = field(repr=False)

    @property
    def open_chain(self) -> bool:
        """Ends with ``linked``: it must not chain into the next caller's transfers."""
        return bool(self.transfers[-1].flags & TransferFlags.LINKED)


class LedgerBatcher:
    def __init__(
        self,
        database_url: str,
        *,
        batch_transfers_max: int = BATCH_TRANSFERS_MAX,
        batch_wait_s: float = BATCH_WAIT_S,
        queue_requests_max: int = QUEUE_REQUESTS_MAX,
        writers_count: int = WRITERS_COUNT,
    ) -> None:
        invariant(0 < batch_transfers_max <= BATCH_TRANSFERS_MAX, "batch size within bounds")
        self._pool = AsyncConnectionPool(
            libpq_url(database_url), min_size=writers_count, max_size=writers_count, open=False
        )
        self._queue: asyncio.Queue[_Request] = asyncio.Queue(maxsize=queue_requests_max)
        self._batch_max = batch_transfers_max
        self._wait_s = batch_wait_s
        self._writers_count = writers_count
        self._writers: list[asyncio.Task[None]] = []
        self._carry: _Request | None = None
        self.batches_written = 0

    async def start(self) -> None:
        await self._pool.open(wait=True)
        self._writers = [
            asyncio.create_task(self._write_forever(), name=f"ledger-batcher-{index}")
            for index in range(self._writers_count)
        ]

    async def stop(self) -> None:
        """Finish what is queued, then stop the writers and close the pool."""
        await self._queue.join()
        for writer in self._writers:
            writer.cancel()
        for writer in self._writers:
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        self._writers = []
        await self._pool.close()

    async def __aenter__(self) -> LedgerBatcher:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    async def submit(self, transfers: Sequence[Transfer]) -> list[CreateTransferResult]:
        """Create ``transfers`` (kept together, in order, in one batch); await their results."""
        if not self._writers:
            raise BatcherClosedError("the batcher is not running")
        if not transfers:
            return []
        invariant(len(transfers) <= self._batch_max, "a request fits in one batch")
        future: asyncio.Future[list[CreateTransferResult]] = (
            asyncio.get_running_loop().create_future()
        )
        request = _Request(transfers, future)
        try:
            self._queue.put_nowait(request)  # the common case, without a suspension
        except asyncio.QueueFull:
            await self._queue.put(request)  # back-pressure: wait for room
        return await future

    async def _next_batch(self) -> list[_Request]:
        first = self._carry or await self._queue.get()
        self._carry = None
        batch, size = [first], len(first.transfers)
        if first.open_chain:
            return batch
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait_s
        while size < self._batch_max:
            try:
                request = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    request = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            if size + len(request.transfers) > self._batch_max or request.open_chain:
                self._carry = request  # starts the next batch
                break
            batch.append(request)
            size += len(request.transfers)
        return batch

    async def _write_forever(self) -> None:
        while True:
            batch = await self._next_batch()
            try:
                results = await self._write(
                    [transfer for request in batch for transfer in request.transfers]
                )
            except Exception as error:  # the whole batch failed: every caller hears why
                for request in batch:
                    if not request.future.done():
                        request.future.set_exception(error)
            else:
                offset = 0
                for request in batch:
                    count = len(request.transfers)
                    if not request.future.done():
                        request.future.set_result(results[offset : offset + count])
                    offset += count
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, transfers: list[Transfer]) -> list[CreateTransferResult]:
        for attempt in range(RETRY_COUNT_MAX):
            try:
                async with self._pool.connection() as connection, connection.transaction():
                    results = await apply_transfers(connection, transfers)
                self.batches_written += 1
                return results
            except psycopg.errors.UniqueViolation:
                if attempt == RETRY_COUNT_MAX - 1:
                    raise
        unreachable("the last attempt returns or raises")
