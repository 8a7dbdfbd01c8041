"""Background jobs of bank accounts: the penny drop asked again (the bank did not answer in
time, or the request that made the account died between its phases).

Safe to run twice: the bank is asked with the account's id as request id (it credits its rupee
once and repeats its answer), and an account no longer ``new`` ignores a later answer.
"""

from __future__ import annotations

import procrastinate

from beyondpay.db import jobs
from beyondpay.db.phases import JobPhases
from beyondpay.db.session import Database
from beyondpay.settlement.bank_accounts.service import bank_account_service

bank_accounts_jobs = jobs.blueprint("bank_accounts")


async def validate_on(database: Database, bank_account_id: str) -> None:
    """One penny drop in its own phases (not a unit of work: it commits before the bank)."""
    async with database.sessionmaker() as session:
        await bank_account_service.validate(session, bank_account_id, JobPhases(session))
        await session.commit()


@bank_accounts_jobs.task(name="validate_bank_account", pass_context=True)
async def validate_bank_account(
    context: procrastinate.JobContext, bank_account_id: str, attempt: int
) -> None:
    # ``attempt`` names the try that deferred this job, for an operator reading the queue.
    del attempt
    await validate_on(jobs.job_database(context), bank_account_id)


jobs.bind(bank_accounts_jobs)
