"""Settlement windows' job: every 5 seconds, close every window whose cut-off has passed, oldest
first, each in its own short transaction (its netting, its ``settlement_window.closed`` event and
the next window of its chain together). A worker down across cut-offs closes them on its next
run, late and saying so (``closed_late``), never skipping one: the chain's next window is only
opened by closing the one before it. Safe to run twice or at once (service.close_next_due)."""

from __future__ import annotations

from typing import Final

import procrastinate

from beyondpay.db import jobs
from beyondpay.db.session import Database
from beyondpay.settlement.windows.service import close_next_due

WINDOWS_PER_RUN_MAX: Final = 10_000

settlement_windows_jobs = jobs.blueprint("settlement_windows")


async def close_due_windows(database: Database, limit: int = WINDOWS_PER_RUN_MAX) -> list[str]:
    """Closes due windows one transaction each; returns their ids in the order closed."""
    closed: list[str] = []
    for _ in range(limit):
        async with database.unit_of_work() as session:
            window_id = await close_next_due(session)
        if window_id is None:
            break
        closed.append(window_id)
    return closed


@settlement_windows_jobs.periodic(cron="* * * * * */5", periodic_id="close_settlement_windows")
@settlement_windows_jobs.task(
    name="close_settlement_windows",
    pass_context=True,
    queueing_lock="settlement_windows:close",
)
async def close_settlement_windows(context: procrastinate.JobContext, timestamp: int) -> None:
    await close_due_windows(jobs.job_database(context))
