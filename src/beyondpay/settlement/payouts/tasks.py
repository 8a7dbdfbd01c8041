"""Background jobs of payouts: ``send_payout`` sends one payout after the transaction that made
it (an automatic payout, or one whose cooling hold has ended), and ``reconcile_payouts``, every
5 s, takes every payout whose ``next_check_at`` has come — a hold over, a rail answer never
applied (the process died between the phases: asked again with the same request id), a
deemed or NEFT payout to check. Each payout in its own short transactions around the rail's
answer. Safe to run twice or at once (the payout's row lock, its status, the rail's request
id)."""

from __future__ import annotations

from typing import Final

import procrastinate

from beyondpay.db import jobs
from beyondpay.db.phases import JobPhases
from beyondpay.db.session import Database
from beyondpay.kit.logging import get_logger
from beyondpay.settlement.payouts.service import advance_payout, due_payouts

PAYOUTS_PER_RUN_MAX: Final = 500

settlement_payouts_jobs = jobs.blueprint("settlement_payouts")
_log = get_logger(__name__)


async def advance_on(database: Database, payout_id: str) -> str:
    """One payout's step (not a unit of work: the session commits before the rail is asked)."""
    async with database.sessionmaker() as session:
        status = await advance_payout(session, payout_id, JobPhases(session))
        await session.commit()
    return status


async def reconcile_due_payouts(database: Database, limit: int = PAYOUTS_PER_RUN_MAX) -> int:
    async with database.unit_of_work() as session:
        due = await due_payouts(session, limit)
    for payout_id in due:
        try:
            await advance_on(database, payout_id)
        except Exception:  # one payout's failure must not stop the others; it stays due
            _log.exception("payout_step_failed", payout=payout_id)
    return len(due)


@settlement_payouts_jobs.task(name="send_payout", pass_context=True)
async def send_payout(context: procrastinate.JobContext, payout_id: str) -> None:
    await advance_on(jobs.job_database(context), payout_id)


@settlement_payouts_jobs.periodic(cron="* * * * * */5", periodic_id="reconcile_payouts")
@settlement_payouts_jobs.task(
    name="reconcile_payouts",
    pass_context=True,
    queueing_lock="settlement_payouts:reconcile_payouts",
)
async def reconcile_payouts(context: procrastinate.JobContext, timestamp: int) -> None:
    await reconcile_due_payouts(jobs.job_database(context))


jobs.bind(settlement_payouts_jobs)
