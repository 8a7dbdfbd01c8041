"""Jobs of the API layer: pruning stored idempotent responses past their retention."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

import procrastinate

from beyondpay.db import jobs
from beyondpay.kit.clock import utcnow
from beyondpay.kit.logging import get_logger
from beyondpay.kit.settings import get_settings

api_jobs = jobs.blueprint("api")
PURGE_BATCH_MAX: Final = 10_000
PURGE_ROUNDS_MAX: Final = 100  # batches per run, one transaction each; the next run continues
_PURGE = (
    "DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY("
    " SELECT ctid FROM idempotency_keys WHERE created_at < %s LIMIT %s))"
)
_log = get_logger(__name__)


async def purge_idempotency_keys_on(
    connector: procrastinate.PsycopgConnector, retention: timedelta
) -> int:
    """Deletes keys older than ``retention``; safe to run twice or in two workers at once."""
    cutoff = utcnow() - retention
    purged = 0
    for _ in range(PURGE_ROUNDS_MAX):
        async with connector.pool.connection() as connection, connection.transaction():
            cursor = await connection.execute(_PURGE, (cutoff, PURGE_BATCH_MAX))
            deleted = cursor.rowcount
        purged += deleted
        if deleted < PURGE_BATCH_MAX:
            break
    return purged


@api_jobs.periodic(cron="*/10 * * * *", periodic_id="purge_idempotency_keys")
@api_jobs.task(
    name="purge_idempotency_keys", pass_context=True, queueing_lock="api:purge_idempotency_keys"
)
async def purge_idempotency_keys(context: procrastinate.JobContext, timestamp: int) -> None:
    connector = context.app.connector
    if not isinstance(connector, procrastinate.PsycopgConnector):
        raise TypeError("the API's jobs need the psycopg connector")
    retention = timedelta(seconds=get_settings().idempotency_retention_s)
    purged = await purge_idempotency_keys_on(connector, retention)
    _log.info("idempotency_keys_purged", count=purged)
