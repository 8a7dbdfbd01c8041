"""Reporting's job: a report run computed into its file. Safe to run twice: a run no longer
pending is left alone (its row lock orders two at once)."""

from __future__ import annotations

import procrastinate

from beyondpay.db import jobs
from beyondpay.db.session import Database
from beyondpay.reporting.service import reporting_service

reporting_jobs = jobs.blueprint("reporting")


async def run_report_on(database: Database, report_run_id: str) -> None:
    async with database.unit_of_work() as session:
        await reporting_service.execute(session, report_run_id)


@reporting_jobs.task(name="run_report", pass_context=True)
async def run_report(context: procrastinate.JobContext, report_run_id: str) -> None:
    await run_report_on(jobs.job_database(context), report_run_id)


jobs.bind(reporting_jobs)
