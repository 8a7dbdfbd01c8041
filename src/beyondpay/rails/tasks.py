"""Background jobs of the rails: delivering the sandbox rails' callbacks.

A callback is deferred, in the transaction that created the operation, for the moment the rail
answers by itself (the UPI payer's decision, an asynchronous refund). Safe to run twice: the
delivery is recorded with the outcome, so a repeat finds it made and does nothing.
"""

from __future__ import annotations

import procrastinate

from beyondpay.db import jobs
from beyondpay.db.session import Database

rails_jobs = jobs.blueprint("rails")


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
    await deliver_callback_on(jobs.job_database(context), reference, delivery)


jobs.bind(rails_jobs)
