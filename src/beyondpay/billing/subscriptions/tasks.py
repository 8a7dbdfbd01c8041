"""Background jobs of subscriptions, each deferred in the transaction that set its time, so a
rollback schedules nothing:

- ``renew``: a period (or trial) is over: the next one begins and is invoiced, or the
  subscription ends as it was set to;
- ``retry``: dunning's next charge of a past_due subscription's latest invoice (counted on the
  subscription, then the invoice's collection job);
- ``notify``: a notice is due (a renewal's or a retry's pre-debit notification, the trial's
  end): sent once (``notices``);
- ``charge``: a renewal's try held behind its notice is due: collected, or counted as failed
  when it needed the customer;
- ``expire``: an incomplete subscription whose first invoice is unpaid 23 hours on ends
  ``incomplete_expired`` (its invoice voided).

Each is safe to run twice or late (it locks the subscription and finds its work done or not
due); subscriptions on test clocks are left to the clock's advances.
"""

from __future__ import annotations

import procrastinate

from beyondpay.db import jobs

subscriptions_jobs = jobs.blueprint("subscriptions")


@subscriptions_jobs.task(name="renew", pass_context=True)
async def renew(context: procrastinate.JobContext, subscription: str, period_index: int) -> None:
    from beyondpay.billing.subscriptions.service import renew_now

    async with jobs.job_database(context).unit_of_work() as session:
        await renew_now(session, subscription, period_index)


@subscriptions_jobs.task(name="expire", pass_context=True)
async def expire(context: procrastinate.JobContext, subscription: str) -> None:
    from beyondpay.billing.subscriptions.service import expire_now

    async with jobs.job_database(context).unit_of_work() as session:
        await expire_now(session, subscription)


@subscriptions_jobs.task(name="retry", pass_context=True)
async def retry(context: procrastinate.JobContext, subscription: str, retry: int) -> None:
    from beyondpay.billing.subscriptions.service import retry_now

    async with jobs.job_database(context).unit_of_work() as session:
        await retry_now(session, subscription, retry)


@subscriptions_jobs.task(name="notify", pass_context=True)
async def notify(context: procrastinate.JobContext, notice: str) -> None:
    from beyondpay.billing.subscriptions.notices import notify_now

    async with jobs.job_database(context).unit_of_work() as session:
        await notify_now(session, notice)


@subscriptions_jobs.task(name="charge", pass_context=True)
async def charge(context: procrastinate.JobContext, notice: str) -> None:
    from beyondpay.billing.subscriptions.notices import charge_now

    async with jobs.job_database(context).unit_of_work() as session:
        await charge_now(session, notice)


@subscriptions_jobs.task(name="resume_collection", pass_context=True)
async def resume_collection(context: procrastinate.JobContext, subscription: str) -> None:
    """``pause_collection[resumes_at]`` has come: collection resumes (changes.py)."""
    from beyondpay.billing.subscriptions.changes import end_pause_now

    async with jobs.job_database(context).unit_of_work() as session:
        await end_pause_now(session, subscription)


jobs.bind(subscriptions_jobs)
