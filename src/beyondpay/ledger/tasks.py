"""Background jobs of the ledger: voiding holds whose timeout has passed, and sealing the
journal (numbering and hash-chaining committed transfers, ``journal.seal_on``)."""

from __future__ import annotations

from typing import Final

import procrastinate

from beyondpay.db import jobs
from beyondpay.kit.logging import get_logger
from beyondpay.ledger.journal import seal_on
from beyondpay.ledger.service import EXPIRE_HOLDS_LIMIT_DEFAULT, expire_holds_on

# Rounds of at most EXPIRE_HOLDS_LIMIT_DEFAULT holds each, one transaction per round.
EXPIRY_ROUNDS_MAX: Final = 100

# How long a committed transfer waits, at most and give or take the run's own time, for its
# sequence and hash; keep in step with the sealer's cron below.
SEAL_INTERVAL_S: Final = 1

ledger_jobs = jobs.blueprint("ledger")
_log = get_logger(__name__)


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


def _connector(context: procrastinate.JobContext) -> procrastinate.PsycopgConnector:
    connector = context.app.connector
    if not isinstance(connector, procrastinate.PsycopgConnector):
        raise TypeError("the ledger's jobs need the psycopg connector")
    return connector


async def seal_journal_on(pool_connection: procrastinate.PsycopgConnector) -> int:
    """Seal every ledger's committed transfers; safe to run twice or in two workers at once
    (each ledger's head lock serializes them, and the later finds nothing left)."""
    async with pool_connection.pool.connection() as connection:
        return await seal_on(connection)


# A periodic sweep rather than a notification per commit: PostgreSQL serializes the commits of
# notifying transactions, which is the kind of platform-wide queue the sealer exists to remove.
@ledger_jobs.periodic(cron="* * * * * *", periodic_id="seal_journal")
@ledger_jobs.task(name="seal_journal", pass_context=True, queueing_lock="ledger:seal_journal")
async def seal_journal(context: procrastinate.JobContext, timestamp: int) -> None:
    sealed = await seal_journal_on(_connector(context))
    if sealed:
        _log.debug("ledger_sealed", count=sealed)


@ledger_jobs.periodic(cron="* * * * * */5", periodic_id="expire_holds")
@ledger_jobs.task(name="expire_holds", pass_context=True, queueing_lock="ledger:expire_holds")
async def expire_holds(context: procrastinate.JobContext, timestamp: int) -> None:
    await expire_due_holds(_connector(context))
