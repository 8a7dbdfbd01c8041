"""Background jobs of the rails: delivering the sandbox rails' callbacks, and voids asked after
the deciding transaction commits (``rails.service.void_later``).

A NEFT payout's settlement is deferred likewise, for its half-hourly batch
(``settle_payout``).

A callback is deferred, in the transaction that created the operation, for the moment the rail
answers by itself (the UPI payer's decision, an asynchronous refund). Safe to run twice: the
delivery is recorded with the outcome, so a repeat finds it made and does nothing.

The rails do not import this module: :class:`JobScheduler` is their ``rails.protocol.Scheduler``,
injected by the composition root (``app.wire_modules``), so the jobs depend on the rails and
never the other way round.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

import procrastinate
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db import jobs
from beyondpay.db.session import Database
from beyondpay.kit.clock import utcnow
from beyondpay.rails.protocol import Rail
from beyondpay.rails.service import connector_for
from beyondpay.rails.service import deliver_callback as deliver
from beyondpay.rails.service import settle_payout as settle

VOID_RETRY_COUNT: Final = 5  # a void the rail could not take (unreachable) is asked again

rails_jobs = jobs.blueprint("rails")


async def deliver_callback_on(database: Database, reference: str, delivery: int) -> None:
    """One callback in its own unit of work; run early, it schedules itself for later."""
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


async def void_operation_on(
    database: Database, rail: str, livemode: bool, request_id: str, reference: str
) -> None:
    """Asks the rail to void ``reference`` (request id ``request_id``): after the transaction
    that decided it committed, outside any transaction. Safe twice: the rail answers a repeated
    request id with its first answer, and a void of what is already final is refused, not
    done."""
    async with database.sessionmaker() as session:
        await connector_for(Rail(rail), livemode).void(session, request_id, reference)


@rails_jobs.task(name="void_operation", pass_context=True, retry=VOID_RETRY_COUNT)
async def void_operation(
    context: procrastinate.JobContext, rail: str, livemode: bool, request_id: str, reference: str
) -> None:
    await void_operation_on(jobs.job_database(context), rail, livemode, request_id, reference)


@rails_jobs.task(name="deliver_callback", pass_context=True)
async def deliver_callback(
    context: procrastinate.JobContext, reference: str, delivery: int
) -> None:
    await deliver_callback_on(jobs.job_database(context), reference, delivery)


async def settle_payout_on(database: Database, reference: str) -> None:
    """A payout's settlement (a NEFT batch) in its own unit of work; run early, it schedules
    itself for later."""
    async with database.unit_of_work() as session:
        wait_s = await settle(session, reference)
        if wait_s is not None:
            await jobs.defer(session, settle_payout, schedule_in_s=wait_s, reference=reference)


@rails_jobs.task(name="settle_payout", pass_context=True)
async def settle_payout(context: procrastinate.JobContext, reference: str) -> None:
    await settle_payout_on(jobs.job_database(context), reference)


jobs.bind(rails_jobs)


class JobScheduler:
    """The rails' later work as jobs on PostgreSQL, deferred on the caller's connection in its
    transaction (``rails.protocol.Scheduler``)."""

    async def callback_at(
        self, session: AsyncSession, reference: str, at: datetime, *, delivery: int
    ) -> None:
        delay_s = max((at - utcnow()) / timedelta(seconds=1), 0.0)
        await jobs.defer(
            session, deliver_callback, schedule_in_s=delay_s, reference=reference, delivery=delivery
        )

    async def void_later(
        self, session: AsyncSession, rail: Rail, livemode: bool, request_id: str, reference: str
    ) -> None:
        await jobs.defer(
            session,
            void_operation,
            rail=rail.value,
            livemode=livemode,
            request_id=request_id,
            reference=reference,
        )

    async def payout_settles_at(self, session: AsyncSession, reference: str, at: datetime) -> None:
        delay_s = max((at - utcnow()) / timedelta(seconds=1), 0.0)
        await jobs.defer(session, settle_payout, schedule_in_s=delay_s, reference=reference)
