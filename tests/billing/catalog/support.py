"""Helpers for the catalog's tests: calls over HTTP as a merchant, its caller for service
calls, and the events recorded about an object."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.merchants.domain import Caller, KeyKind, MerchantStatus
from tests.support import TestMerchant


async def post(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    status: int = 200,
    key: str = "sk_test",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """POSTs ``params`` as JSON; checks the status; the decoded body."""
    response = await client.post(
        path, json=params or {}, headers={**merchant.auth(key), **(headers or {})}
    )
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


async def get(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    path: str,
    params: dict[str, Any] | None = None,
    *,
    status: int = 200,
    key: str = "sk_test",
) -> dict[str, Any]:
    response = await client.get(path, params=params, headers=merchant.auth(key))
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def refused(body: dict[str, Any]) -> tuple[str, str | None]:
    """An error body's (code, param)."""
    error = body["error"]
    return error["code"], error.get("param")


def caller_of(merchant: TestMerchant, *, livemode: bool = False) -> Caller:
    """The caller a merchant's secret key authenticates as, for calling services directly."""
    return Caller(
        key_id="key_test",
        kind=KeyKind.secret,
        livemode=livemode,
        merchant_id=merchant.id,
        merchant_status=MerchantStatus.active,
    )


async def events_of(database: Database, object_id: str) -> list[dict[str, Any]]:
    """The events about ``object_id``, in the order they were recorded: type and data."""
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text("SELECT type, data FROM events WHERE object_id = :id ORDER BY inserted"),
            {"id": object_id},
        )
        return [{"type": row[0], "data": row[1]} for row in rows]


async def event_types(database: Database, object_id: str) -> list[str]:
    return [event["type"] for event in await events_of(database, object_id)]
