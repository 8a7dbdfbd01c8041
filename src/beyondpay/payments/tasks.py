"""Background jobs of payments: reconciliation with the rails, and funds becoming available.

``reconcile_charges`` runs every 5 seconds: every charge whose scheduled status check is due is
checked with its rail, and every rail operation asked but never applied (its process died
between the phases) is asked again with the same request id and applied; each charge on its own,
the rail asked outside any transaction (a rail's bad answer about one never holds up the rest).
A charge waiting for its rail always has ``next_check_at`` (a database CHECK), so
none can stay ``processing`` unseen; when the rail's pacing allows no more checks, the charge
fails and the money is released. ``release_available_funds`` moves captured funds from pending
to available once their ``available_on`` has come. Both are safe to run twice or at once.
"""

from __future__ import annotations

from typing import Final

import procrastinate

from beyondpay.db import jobs
from beyondpay.db.session import Database
from beyondpay.kit.logging import get_logger
from beyondpay.payments.service import check_charge, due_charges, release_due_funds

CHARGES_PER_RUN_MAX: Final = 500
RELEASES_PER_TRANSACTION_MAX: Final = 500
RELEASE_ROUNDS_MAX: Final = 20

payments_jobs = jobs.blueprint("payments")
_log = get_logger(__name__)


async def reconcile_due_charges(database: Database, limit: int = CHARGES_PER_RUN_MAX) -> int:
    """Status-checks every due charge; returns how many were checked."""
    async with database.unit_of_work() as session:
        due = await due_charges(session, limit)
    for charge_id in due:
        try:
            # Outside any transaction: the check commits its phases around the rail's answer.
            async with database.sessionmaker() as session:
                await check_charge(session, charge_id)
        except Exception:  # one charge's failure must not stop the others; it stays due
            _log.exception("charge_status_check_failed", charge=charge_id)
    return len(due)


async def release_funds(database: Database) -> int:
    total = 0
    for _ in range(RELEASE_ROUNDS_MAX):
        async with database.unit_of_work() as session:
            released = await release_due_funds(session, RELEASES_PER_TRANSACTION_MAX)
        total += released
        if released < RELEASES_PER_TRANSACTION_MAX:
            break
    return total


@payments_jobs.periodic(cron="* * * * * */5", periodic_id="reconcile_charges")
@payments_jobs.task(
    name="reconcile_charges", pass_context=True, queueing_lock="payments:reconcile_charges"
)
async def reconcile_charges(context: procrastinate.JobContext, timestamp: int) -> None:
    await reconcile_due_charges(jobs.job_database(context))


@payments_jobs.periodic(cron="* * * * * */5", periodic_id="release_available_funds")
@payments_jobs.task(
    name="release_available_funds", pass_context=True, queueing_lock="payments:release_funds"
)
async def release_available_funds(context: procrastinate.JobContext, timestamp: int) -> None:
    await release_funds(jobs.job_database(context))
