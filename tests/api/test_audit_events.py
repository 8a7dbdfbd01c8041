"""The audit trail: every authenticated mutating request, executed or refused, and nothing else."""

from __future__ import annotations

import httpx

from beyondpay.db.session import Database
from tests.support import TestMerchant


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


async def test_unauthenticated_requests_leave_no_trail(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    response = await client.post(
        "/v1/customers", data={"name": "x"}, headers={"Authorization": "Bearer sk_test_nope"}
    )
    assert response.status_code == 401
    assert await _events(client, merchant) == []
