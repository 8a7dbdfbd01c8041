"""Helpers for notification tests: running the send jobs queued so far, as the worker would."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.notifications.outbox import send_notification
from tests.support import TestMerchant


async def queued_sends(database: Database) -> list[str]:
    """The notification ids of the send jobs waiting, oldest first (left in the queue)."""
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text(
                "SELECT args->>'notification_id' FROM procrastinate_jobs"
                " WHERE task_name = 'notifications:send' AND status = 'todo' ORDER BY id"
            )
        )
        return [str(value) for value in rows.scalars()]


async def send_queued(database: Database) -> list[str]:
    """Runs every send job queued so far (each once), as the worker would; returns their
    notification ids."""
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text(
                "UPDATE procrastinate_jobs SET status = 'succeeded'"
                " WHERE task_name = 'notifications:send' AND status = 'todo'"
                " RETURNING id, args->>'notification_id'"
            )
        )
        ids = [str(notification) for _, notification in sorted(rows.all())]
    for notification_id in ids:
        await send_notification(database, notification_id)
    return ids


async def sandbox_emails(
    client: httpx.AsyncClient, merchant: TestMerchant, **query: Any
) -> list[dict[str, Any]]:
    response = await client.get(
        "/v1/notifications/sandbox/emails", params=query, headers=merchant.auth()
    )
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data
