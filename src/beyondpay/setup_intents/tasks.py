"""Background jobs of SetupIntents: the reconciliation with the card network.

``reconcile_setup_intents`` runs every 5 seconds: every SetupIntent whose verification was asked
and never applied (its process died between the phases) is asked again with the same request
id and applied, and one processing is status-checked; each on its own, the network asked
outside any transaction. Safe to run twice or at once (the intent's lock and the request id).
"""

from __future__ import annotations

from typing import Final

import procrastinate

from beyondpay.db import jobs
from beyondpay.db.session import Database
from beyondpay.kit.logging import get_logger
from beyondpay.setup_intents.service import check_setup_intent, due_setup_intents

SETUP_INTENTS_PER_RUN_MAX: Final = 500

setup_intents_jobs = jobs.blueprint("setup_intents")
_log = get_logger(__name__)


async def reconcile_due_setup_intents(
    database: Database, limit: int = SETUP_INTENTS_PER_RUN_MAX
) -> int:
    """Finishes every due SetupIntent; returns how many were looked at."""
    async with database.unit_of_work() as session:
        due = await due_setup_intents(session, limit)
    for intent_id in due:
        try:
            # Outside any transaction: the check commits its phases around the network's answer.
            async with database.sessionmaker() as session:
                await check_setup_intent(session, intent_id)
        except Exception:  # one intent's failure must not stop the others; it stays due
            _log.exception("setup_intent_check_failed", setup_intent=intent_id)
    return len(due)


@setup_intents_jobs.periodic(cron="* * * * * */5", periodic_id="reconcile_setup_intents")
@setup_intents_jobs.task(
    name="reconcile_setup_intents",
    pass_context=True,
    queueing_lock="setup_intents:reconcile_setup_intents",
)
async def reconcile_setup_intents(context: procrastinate.JobContext, timestamp: int) -> None:
    await reconcile_due_setup_intents(jobs.job_database(context))
