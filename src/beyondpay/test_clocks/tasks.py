"""Background jobs of test clocks: an advance (deferred in the transaction that asked for it, so
the API answers ``advancing`` at once), and the hourly deletion of clocks past their
``deletes_after``. Both are safe to run twice or at once: each takes the clock's row lock and
finds its work done.
"""

from __future__ import annotations

from typing import Final

import procrastinate

from beyondpay.db import jobs
from beyondpay.db.session import Database
from beyondpay.kit.logging import get_logger
from beyondpay.test_clocks.domain import moment
from beyondpay.test_clocks.timeline import (
    advance_clock,
    delete_expired_clock,
    expired_clocks,
    fail_advance,
)

ADVANCE_RETRY_COUNT: Final = 3  # then the clock is internal_failure, at its old time
DELETIONS_PER_RUN_MAX: Final = 100

test_clocks_jobs = jobs.blueprint("test_clocks")
_log = get_logger(__name__)


async def advance_on(database: Database, clock_id: str, frozen_time: int, *, last: bool) -> bool:
    """One try of the advance in its own unit of work; a failed last try marks the clock
    ``internal_failure``. True when this run advanced the clock."""
    target = moment(frozen_time)
    try:
        async with database.unit_of_work() as session:
            return await advance_clock(session, clock_id, target)
    except Exception:
        _log.exception("test_clock_advance_failed", test_clock=clock_id)
        if not last:
            raise  # procrastinate tries again
        async with database.unit_of_work() as session:
            await fail_advance(session, clock_id, target)
        return False


async def delete_expired_on(database: Database, limit: int = DELETIONS_PER_RUN_MAX) -> int:
    async with database.unit_of_work() as session:
        due = await expired_clocks(session, limit)
    deleted = 0
    for clock_id in due:
        async with database.unit_of_work() as session:
            deleted += await delete_expired_clock(session, clock_id)
    return deleted


@test_clocks_jobs.task(name="advance", pass_context=True, retry=ADVANCE_RETRY_COUNT)
async def advance(context: procrastinate.JobContext, test_clock: str, frozen_time: int) -> None:
    attempts = context.job.attempts if context.job is not None else 0
    await advance_on(
        jobs.job_database(context),
        test_clock,
        frozen_time,
        last=attempts >= ADVANCE_RETRY_COUNT,
    )


@test_clocks_jobs.periodic(cron="17 * * * *", periodic_id="delete_expired_test_clocks")
@test_clocks_jobs.task(
    name="delete_expired", pass_context=True, queueing_lock="test_clocks:delete_expired"
)
async def delete_expired(context: procrastinate.JobContext, timestamp: int) -> None:
    await delete_expired_on(jobs.job_database(context))


jobs.bind(test_clocks_jobs)
