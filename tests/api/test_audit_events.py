"""The audit trail: every authenticated mutating request, executed or refused, and nothing else."""

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


async def test_mutations_are_audited_with_their_outcome(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    created = await client.post(
        "/v1/customers",
        data={"email": "asha@example.com", "metadata[pan]": "ABCDE1234F"},
        headers={**merchant.auth(), "Request-Id": "req_trace_1"},
    )
    customer = created.json()["id"]
    refused = await client.post("/v1/customers", data={"colour": "red"}, headers=merchant.auth())
    assert refused.status_code == 400
    await client.get(f"/v1/customers/{customer}", headers=merchant.auth())  # reads are not audited
    await client.delete(f"/v1/customers/{customer}", headers=merchant.auth())

    events = await _events(client, merchant)
    assert [(event["method"], event["status"]) for event in events] == [
        ("DELETE", 200),
        ("POST", 400),
        ("POST", 200),
    ]
    deleted, bad, first = events
    assert first["object"] == "audit_event"
    assert first["route"] == "/v1/customers"
    assert first["object_id"] == customer
    assert first["request_id"] == "req_trace_1"
    assert first["api_key"].startswith("key_")
    assert first["livemode"] is False
    assert bad["error_code"] == "parameter_unknown"
    assert deleted["route"] == "/v1/customers/{customer}"
    assert deleted["object_id"] == customer
    text = str(events)
    assert "asha@example.com" not in text
    assert "ABCDE1234F" not in text
    assert [event["id"] for event in await _events(client, merchant, object_id=customer)] == [
        deleted["id"],
        first["id"],
    ]


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


async def test_unauthenticated_requests_leave_no_trail(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    response = await client.post(
        "/v1/customers", data={"name": "x"}, headers={"Authorization": "Bearer sk_test_nope"}
    )
    assert response.status_code == 401
    assert await _events(client, merchant) == []


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
