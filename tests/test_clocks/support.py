"""Helpers for tests of test clocks: running the advances the API deferred, as the worker would."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.test_clocks.tasks import advance_on
from tests.support import TestMerchant

CLOCKS_PATH = "/v1/test_helpers/test_clocks"


async def run_advances(database: Database) -> int:
    """Runs every advance job queued so far (each once, as its last try); returns how many."""
    async with database.unit_of_work() as session:
        rows = (
            await session.execute(
                text(
                    "UPDATE procrastinate_jobs SET status = 'succeeded'"
                    " WHERE task_name = 'test_clocks:advance' AND status = 'todo'"
                    " RETURNING args->>'test_clock', (args->>'frozen_time')::bigint"
                )
            )
        ).all()
    for clock_id, frozen_time in rows:
        await advance_on(database, str(clock_id), int(frozen_time), last=True)
    return len(rows)


async def new_clock(
    client: httpx.AsyncClient, merchant: TestMerchant, frozen_time: int, **params: Any
) -> dict[str, Any]:
    response = await client.post(
        CLOCKS_PATH, data={"frozen_time": frozen_time, **params}, headers=merchant.auth()
    )
    assert response.status_code == 200, response.text
    clock: dict[str, Any] = response.json()
    return clock


async def advance(
    client: httpx.AsyncClient, merchant: TestMerchant, clock_id: str, frozen_time: int
) -> httpx.Response:
    return await client.post(
        f"{CLOCKS_PATH}/{clock_id}/advance",
        data={"frozen_time": frozen_time},
        headers=merchant.auth(),
    )
