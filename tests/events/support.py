"""Helpers for the events tests: a caller for the services, a pool for the numbering job."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from psycopg_pool import AsyncConnectionPool

from beyondpay.db.session import Database
from beyondpay.db.urls import libpq_url
from beyondpay.merchants.domain import Caller, KeyKind, MerchantStatus


def caller_of(merchant_id: str, *, livemode: bool = False) -> Caller:
    return Caller(
        key_id="key_events_tests",
        kind=KeyKind.secret,
        livemode=livemode,
        merchant_id=merchant_id,
        merchant_status=MerchantStatus.active,
    )


@asynccontextmanager
async def numbering_pool(database: Database) -> AsyncIterator[AsyncConnectionPool[Any]]:
    """A pool like the worker's (procrastinate's connector), for calling the jobs directly."""
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        libpq_url(database.url), min_size=1, max_size=4, open=False
    )
    await pool.open()
    try:
        yield pool
    finally:
        await pool.close()


async def numbered(database: Database, merchant_id: str, livemode: bool = False) -> list[Any]:
    """(sequence, id, type, object id, data) of the (merchant, mode)'s events, by sequence."""
    async with database.connect() as connection:
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        cursor = await driver.execute(
            "SELECT sequence, id, type, object_id, data FROM events"
            " WHERE merchant_id = %s AND livemode = %s ORDER BY sequence NULLS LAST, inserted",
            (merchant_id, livemode),
        )
        return list(await cursor.fetchall())
