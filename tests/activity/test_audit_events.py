"""The audit trail over HTTP: each merchant reads its own, per mode, with the scope; platform
administrators read the platform's own."""

from __future__ import annotations

import httpx

from beyondpay.db.session import Database
from beyondpay.merchants.domain import KeyKind
from beyondpay.merchants.service import api_key_service
from tests.support import TestMerchant, make_merchant, ring_for_tests


async def _events(client: httpx.AsyncClient, merchant: TestMerchant, **params: str) -> list[dict]:
    response = await client.get("/v1/audit_events", params=params, headers=merchant.auth())
    assert response.status_code == 200, response.text
    return response.json()["data"]


async def test_the_trail_is_the_merchants_own(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    other = await make_merchant(database, name="Other")
    await client.post("/v1/customers", data={"name": "Asha"}, headers=merchant.auth())
    await client.post("/v1/customers", data={"name": "Live"}, headers=merchant.auth("sk_live"))
    assert await _events(client, other) == []
    assert len(await _events(client, merchant)) == 1
    live = await client.get("/v1/audit_events", headers=merchant.auth("sk_live"))
    assert [event["livemode"] for event in live.json()["data"]] == [True]


async def test_restricted_key_needs_the_audit_scope(
    client: httpx.AsyncClient, database: Database
) -> None:
    reader = await make_merchant(database, restricted_scopes=("audit_events:read",))
    writer = await make_merchant(database, restricted_scopes=("customers:write",))
    allowed = await client.get("/v1/audit_events", headers=reader.auth("rk_test"))
    assert allowed.status_code == 200
    refused = await client.get("/v1/audit_events", headers=writer.auth("rk_test"))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "scope_missing"


async def test_platform_admin_actions_form_the_platforms_own_trail(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    async with database.unit_of_work() as session:
        issued = await api_key_service.issue(
            session, ring_for_tests(), merchant_id=None, kind=KeyKind.admin, livemode=True
        )
    admin = {"Authorization": f"Bearer {issued.secret}"}
    suspended = await client.post(
        f"/v1/platform/merchants/{merchant.id}/suspend",
        json={"reason": "chargebacks"},
        headers=admin,
    )
    assert suspended.status_code == 200, suspended.text
    trail = await client.get("/v1/platform/audit_events", headers=admin)
    assert trail.status_code == 200
    [event] = trail.json()["data"]
    assert event["route"] == "/v1/platform/merchants/{merchant}/suspend"
    assert event["api_key"] == issued.id
    assert "chargebacks" not in trail.text
    refused = await client.get("/v1/platform/audit_events", headers=merchant.auth())
    assert refused.status_code == 403
