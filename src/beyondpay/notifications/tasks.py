"""Background jobs of notifications: sending one message of the outbox. The job is deferred in
the transaction that wrote the message (a rollback sends nothing) and runs after commit; it is
safe to run twice or at once (``outbox``: a claim under a lease, the sent state recorded with
the message id)."""

from __future__ import annotations

import procrastinate

from beyondpay.db import jobs
from beyondpay.notifications.domain import RETRY_EXPONENTIAL_WAIT_S, SEND_ATTEMPTS_MAX
from beyondpay.notifications.outbox import (
    NotificationBusyError,
    NotificationNotSentError,
    send_notification,
)

notifications_jobs = jobs.blueprint("notifications")


@notifications_jobs.task(
    name="send",
    pass_context=True,
    retry=procrastinate.RetryStrategy(
        max_attempts=SEND_ATTEMPTS_MAX,
        exponential_wait=RETRY_EXPONENTIAL_WAIT_S,
        retry_exceptions={NotificationBusyError, NotificationNotSentError},
    ),
)
async def send(context: procrastinate.JobContext, notification_id: str) -> None:
    await send_notification(jobs.job_database(context), notification_id)


# Deferred from the transaction of whoever queues a message, which may run before the worker's
# App is composed (a script, a test calling a service): bound at import.
jobs.bind(notifications_jobs)
