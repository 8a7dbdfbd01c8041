"""A peer that is not an IP address (a test client's name, a Unix socket) is audited without
one, not refused with a 500 (found by schemathesis, whose ASGI client calls itself
"testclient")."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.support import TestMerchant


async def test_a_peer_named_otherwise_is_audited_without_an_address(
    api_app: FastAPI, database: Database, merchant: TestMerchant
) -> None:
    transport = httpx.ASGITransport(app=api_app, client=("testclient", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        created = await http.post("/v1/customers", json={"name": "Asha"}, headers=merchant.auth())
        refused = await http.post("/v1/customers", json={"nick": "A"}, headers=merchant.auth())
    assert created.status_code == 200, created.text
    assert refused.status_code == 400, refused.text
    async with database.unit_of_work() as session:
        rows = (
            await session.execute(
                text("SELECT ip, status FROM audit_events WHERE merchant_id = :m ORDER BY id"),
                {"m": merchant.id},
            )
        ).all()
    assert [(row.ip, row.status) for row in rows] == [(None, 200), (None, 400)]
