"""Background jobs of refunds: status checks of refunds waiting for their rail, every 5 s, each
refund in its own short transactions around the rail's answer (never one held across it); a
refund whose rail was asked but whose answer was never applied (the process died between the
phases) is asked again with the same request id. Safe to run twice or at once (the refund's row
lock and its status)."""

from __future__ import annotations

from typing import Final

import procrastinate

from beyondpay.db import jobs
from beyondpay.db.phases import JobPhases
from beyondpay.db.session import Database
from beyondpay.kit.logging import get_logger
from beyondpay.refunds.service import check_refund, due_refunds

REFUNDS_PER_RUN_MAX: Final = 500

refunds_jobs = jobs.blueprint("refunds")
_log = get_logger(__name__)


async def reconcile_due_refunds(database: Database, limit: int = REFUNDS_PER_RUN_MAX) -> int:
    async with database.unit_of_work() as session:
        due = await due_refunds(session, limit)
    for refund_id in due:
        try:
            # Not a unit of work: the session commits before the rail is asked.
            async with database.sessionmaker() as session:
                await check_refund(session, refund_id, JobPhases(session))
                await session.commit()
        except Exception:  # one refund's failure must not stop the others; it stays due
            _log.exception("refund_status_check_failed", refund=refund_id)
    return len(due)


@refunds_jobs.periodic(cron="* * * * * */5", periodic_id="reconcile_refunds")
@refunds_jobs.task(
    name="reconcile_refunds", pass_context=True, queueing_lock="refunds:reconcile_refunds"
)
async def reconcile_refunds(context: procrastinate.JobContext, timestamp: int) -> None:
    await reconcile_due_refunds(jobs.job_database(context))
