"""Checkout's background job: ``expire``, a session expired at its ``expires_at`` (Stripe has
no test clocks for sessions: real time only). Deferred in the transaction that creates the
session, so a rollback schedules nothing; safe to run twice or late (it locks the session and
finds it open or not)."""

from __future__ import annotations

import procrastinate

from beyondpay.db import jobs

checkout_jobs = jobs.blueprint("checkout")


@checkout_jobs.task(name="expire", pass_context=True)
async def expire(context: procrastinate.JobContext, checkout_session: str) -> None:
    from beyondpay.checkout.service import expire_on

    await expire_on(jobs.job_database(context), checkout_session)


# Deferred from requests, which may run before the worker's App is composed: bound at import.
jobs.bind(checkout_jobs)
