"""Background jobs of the ledger: voiding holds whose timeout has passed."""

from __future__ import annotations

from typing import Final

import procrastinate

from beyondpay.db import jobs
from beyondpay.ledger.service import EXPIRE_HOLDS_LIMIT_DEFAULT, expire_holds_on

# Rounds of at most EXPIRE_HOLDS_LIMIT_DEFAULT holds each, one transaction per round.
EXPIRY_ROUNDS_MAX: Final = 100

ledger_jobs = jobs.blueprint("ledger")


async def expire_due_holds(pool_connection: procrastinate.PsycopgConnector) -> int:
    """Void every due hold, a round at a time; safe to run twice or in two workers at once."""
    total = 0
    for _ in range(EXPIRY_ROUNDS_MAX):
        async with pool_connection.pool.connection() as connection, connection.transaction():
            voided = await expire_holds_on(connection)
        total += voided
        if voided < EXPIRE_HOLDS_LIMIT_DEFAULT:
            break
    return total


@ledger_jobs.periodic(cron="* * * * * */5", periodic_id="expire_holds")
@ledger_jobs.task(name="expire_holds", pass_context=True, queueing_lock="ledger:expire_holds")
async def expire_holds(context: procrastinate.JobContext, timestamp: int) -> None:
    connector = context.app.connector
    if not isinstance(connector, procrastinate.PsycopgConnector):
        raise TypeError("the ledger's jobs need the psycopg connector")
    await expire_due_holds(connector)
