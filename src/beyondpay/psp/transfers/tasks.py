"""Background jobs of PSP transfers: collect requests reaching their expiry.

``expire_collect_requests`` runs every 5 seconds and marks pending requests past their expiry as
expired (NPCI's U69), with their events. Reads already show such a request as expired before the
job runs (``schemas.collect_status``), and approving it is refused, so the job only makes the
state and the event catch up. Safe to run twice or at once (``SKIP LOCKED``).
"""

from __future__ import annotations

from typing import Final

import procrastinate

from beyondpay.db import jobs
from beyondpay.db.session import Database
from beyondpay.psp.transfers.service import collect_service

EXPIRIES_PER_TRANSACTION_MAX: Final = 100
EXPIRY_ROUNDS_MAX: Final = 20

psp_transfers_jobs = jobs.blueprint("psp_transfers")


async def expire_collects(database: Database) -> int:
    total = 0
    for _ in range(EXPIRY_ROUNDS_MAX):
        async with database.unit_of_work() as session:
            expired = await collect_service.expire_due(session, batch=EXPIRIES_PER_TRANSACTION_MAX)
        total += expired
        if expired < EXPIRIES_PER_TRANSACTION_MAX:
            break
    return total


@psp_transfers_jobs.periodic(cron="* * * * * */5", periodic_id="expire_collect_requests")
@psp_transfers_jobs.task(
    name="expire_collect_requests",
    pass_context=True,
    queueing_lock="psp_transfers:expire_collect_requests",
)
async def expire_collect_requests(context: procrastinate.JobContext, timestamp: int) -> None:
    await expire_collects(jobs.job_database(context))
