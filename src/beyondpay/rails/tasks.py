"""Background jobs of the rails: delivering the sandbox rails' callbacks.

A callback is deferred, in the transaction that created the operation, for the moment the rail
answers by itself (the UPI payer's decision, an asynchronous refund). Safe to run twice: the
delivery is recorded with the outcome, so a repeat finds it made and does nothing.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, Final

import procrastinate
from psycopg_pool import AsyncConnectionPool

from beyondpay.db import jobs
from beyondpay.db.session import Database

JOB_DATABASE_POOL_SIZE: Final = 2

rails_jobs = jobs.blueprint("rails")
_databases: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Database]] = (
    weakref.WeakKeyDictionary()
)


def _database(context: procrastinate.JobContext) -> Database:
    connector = context.app.connector
    if not isinstance(connector, procrastinate.PsycopgConnector):
        raise TypeError("the rails' jobs need the psycopg connector")
    pool: AsyncConnectionPool[Any] = connector.pool
    conninfo = str(pool.conninfo)
    # One per database and event loop: an engine's connections belong to the loop that opened
    # them (a process runs one worker loop; tests run one per test).
    of_loop = _databases.setdefault(asyncio.get_running_loop(), {})
    if conninfo not in of_loop:
        of_loop[conninfo] = Database(
            conninfo,
            pool_size=JOB_DATABASE_POOL_SIZE,
            max_overflow=JOB_DATABASE_POOL_SIZE,
            application_name="beyondpay-rails",
        )
    return of_loop[conninfo]


async def close_databases() -> None:
    for database in _databases.pop(asyncio.get_running_loop(), {}).values():
        await database.dispose()


async def deliver_callback_on(database: Database, reference: str, delivery: int) -> None:
    """One callback in its own unit of work; run early, it schedules itself for later."""
    from beyondpay.rails.service import deliver_callback as deliver

    async with database.unit_of_work() as session:
        wait_s = await deliver(session, reference, delivery)
        if wait_s is not None:
            await jobs.defer(
                session,
                deliver_callback,
                schedule_in_s=wait_s,
                reference=reference,
                delivery=delivery,
            )


@rails_jobs.task(name="deliver_callback", pass_context=True)
async def deliver_callback(
    context: procrastinate.JobContext, reference: str, delivery: int
) -> None:
    await deliver_callback_on(_database(context), reference, delivery)


jobs.bind(rails_jobs)
