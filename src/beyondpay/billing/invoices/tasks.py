"""Background jobs of invoices, each deferred in the transaction that set its time, so a
rollback schedules nothing:

- ``advance``: an auto-advancing draft finalized at its ``automatically_finalizes_at`` (about
  an hour after its creation), then collected or emailed;
- ``collect``: an automatic collection attempt, the PaymentIntent confirmed off-session with
  the default payment method, the rail asked outside any transaction;
- ``overdue``: ``invoice.overdue`` once an open send_invoice invoice passes its due date.

Each is safe to run twice or late (it locks the invoice and finds its work done or not due);
invoices on test clocks are left to the clock's advances. The use cases are imported where a job
runs: they defer these jobs themselves.
"""

from __future__ import annotations

import procrastinate

from beyondpay.db import jobs

invoices_jobs = jobs.blueprint("invoices")


@invoices_jobs.task(name="advance", pass_context=True)
async def advance(context: procrastinate.JobContext, invoice: str) -> None:
    from beyondpay.billing.invoices.timers import advance_draft

    await advance_draft(jobs.job_database(context), invoice)


@invoices_jobs.task(name="collect", pass_context=True)
async def collect(context: procrastinate.JobContext, invoice: str, attempt: int) -> None:
    from beyondpay.billing.invoices.collection import collect_on

    await collect_on(jobs.job_database(context), invoice, attempt)


@invoices_jobs.task(name="overdue", pass_context=True)
async def overdue(context: procrastinate.JobContext, invoice: str) -> None:
    from beyondpay.billing.invoices.timers import mark_overdue

    await mark_overdue(jobs.job_database(context), invoice)


# Deferred from requests, jobs and clock advances, which may run before the worker's App is
# composed (a script, a test calling a service): bound at import.
jobs.bind(invoices_jobs)
