"""Background jobs of PSP transfers: collect requests reaching their expiry, and payments whose
switch's answer was never applied.

``expire_collect_requests`` runs every 5 seconds and marks pending requests past their expiry as
expired (NPCI's U69), with their events. Reads already show such a request as expired before the
job runs (``schemas.collect_status``), and approving it is refused, so the job only makes the
state and the event catch up. Safe to run twice or at once (``SKIP LOCKED``).

``reconcile_psp_transfers`` runs every 5 seconds and finishes the transfers a process left
pending when it died between the phases of a payment (committed as asked of the switch, answer
never applied), once they are the settings' ``rail_answer_wait_s`` old: it asks the switch
again with the same request id — the switch answers a request id once, so no money moves
twice — and applies the answer in a transaction of its own per transfer. Safe to run twice or
at once, and beside the payer's own retry: the transfer's row lock and its status make the
answer applied once.
"""

from __future__ import annotations

from typing import Final

import procrastinate

from beyondpay.db import jobs
from beyondpay.db.phases import JobPhases
from beyondpay.db.session import Database
from beyondpay.kit.logging import get_logger
from beyondpay.psp.transfers.service import collect_service, transfer_service

EXPIRIES_PER_TRANSACTION_MAX: Final = 100
EXPIRY_ROUNDS_MAX: Final = 20
RECONCILED_PER_RUN_MAX: Final = 500

psp_transfers_jobs = jobs.blueprint("psp_transfers")
_log = get_logger(__name__)


async def expire_collects(database: Database) -> int:
    total = 0
    for _ in range(EXPIRY_ROUNDS_MAX):
        async with database.unit_of_work() as session:
            expired = await collect_service.expire_due(session, batch=EXPIRIES_PER_TRANSACTION_MAX)
        total += expired
        if expired < EXPIRIES_PER_TRANSACTION_MAX:
            break
    return total


async def reconcile_unanswered(
    database: Database,
    limit: int = RECONCILED_PER_RUN_MAX,
    *,
    older_than_s: float | None = None,
) -> int:
    """Finishes every transfer left pending; returns how many were found."""
    async with database.unit_of_work() as session:
        unanswered = await transfer_service.unanswered(session, limit, older_than_s=older_than_s)
    for transfer_id in unanswered:
        try:
            # Not a unit of work: the session commits between the phases, outside any
            # transaction while the switch answers.
            async with database.sessionmaker() as session:
                await transfer_service.finish(session, JobPhases(session), transfer_id)
                await session.commit()
        except Exception:  # one transfer's failure must not stop the others; it stays pending
            _log.exception("psp_transfer_reconcile_failed", transfer=transfer_id)
    return len(unanswered)


@psp_transfers_jobs.periodic(cron="* * * * * */5", periodic_id="expire_collect_requests")
@psp_transfers_jobs.task(
    name="expire_collect_requests",
    pass_context=True,
    queueing_lock="psp_transfers:expire_collect_requests",
)
async def expire_collect_requests(context: procrastinate.JobContext, timestamp: int) -> None:
    await expire_collects(jobs.job_database(context))


@psp_transfers_jobs.periodic(cron="* * * * * */5", periodic_id="reconcile_psp_transfers")
@psp_transfers_jobs.task(
    name="reconcile_psp_transfers",
    pass_context=True,
    queueing_lock="psp_transfers:reconcile_psp_transfers",
)
async def reconcile_psp_transfers(context: procrastinate.JobContext, timestamp: int) -> None:
    await reconcile_unanswered(jobs.job_database(context))
