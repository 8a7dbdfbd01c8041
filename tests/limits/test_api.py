"""Limit policies over HTTP: CRUD, scoping, 4xx naming the parameter, VPAs never shown."""

from __future__ import annotations

import httpx

from tests.support import TestMerchant


async def test_create_retrieve_update_list_delete(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    created = await client.post(
        "/v1/limits/policies",
        content="kind=cap&subject=payer&period=day&amount_max=500000&metadata[team]=risk",
        headers={**merchant.auth(), "content-type": "application/x-www-form-urlencoded"},
    )
    assert created.status_code == 200, created.text
    policy = created.json()
    assert policy["id"].startswith("lpol_")
    assert policy["object"] == "limits.policy"
    assert (policy["kind"], policy["subject"], policy["period"]) == ("cap", "payer", "day")
    assert (policy["amount_max"], policy["currency"]) == (500000, "inr")

    fetched = await client.get(f"/v1/limits/policies/{policy['id']}", headers=merchant.auth())
    assert fetched.json() == policy

    updated = await client.post(
        f"/v1/limits/policies/{policy['id']}",
        json={"count_max": 10, "description": "ten a day"},
        headers=merchant.auth(),
    )
    assert updated.status_code == 200, updated.text
    assert (updated.json()["count_max"], updated.json()["amount_max"]) == (10, 500000)

    listed = await client.get("/v1/limits/policies", headers=merchant.auth())
    assert [item["id"] for item in listed.json()["data"]] == [policy["id"]]

    deleted = await client.delete(f"/v1/limits/policies/{policy['id']}", headers=merchant.auth())
    assert deleted.json() == {"id": policy["id"], "object": "limits.policy", "deleted": True}
    gone = await client.get(f"/v1/limits/policies/{policy['id']}", headers=merchant.auth())
    assert gone.status_code == 404

    events = await client.get("/v1/events", params={"limit": 10}, headers=merchant.auth())
    types = {event["type"] for event in events.json()["data"]}
    assert {"limits.policy.created", "limits.policy.updated", "limits.policy.deleted"} <= types


async def test_parameters_that_do_not_fit_the_kind_are_named(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    cases = [
        ({"kind": "cap", "subject": "payer"}, "period"),
        ({"kind": "cap", "subject": "payer", "period": "day"}, "amount_max"),
        ({"kind": "cap", "subject": "ip", "period": "day", "amount_max": 1}, "subject"),
        ({"kind": "cap", "subject": "payer", "period": "transaction", "count_max": 3}, "count_max"),
        ({"kind": "mcc", "action": "deny"}, "mccs"),
        ({"kind": "mcc", "mccs": ["7995"], "radius_m": 10}, "radius_m"),
        ({"kind": "time_window", "start_minute": 60, "end_minute": 60}, "end_minute"),
        ({"kind": "geo_window", "latitude": 12.9, "longitude": 77.6}, "radius_m"),
        ({"kind": "list", "subject": "vpa", "values": ["not a vpa"]}, "values[0]"),
        ({"kind": "list", "subject": "device"}, "values"),
        ({"kind": "mcc", "mccs": ["79"]}, "mccs[0]"),
    ]
    for params, param in cases:
        answer = await client.post("/v1/limits/policies", json=params, headers=merchant.auth())
        assert answer.status_code == 400, (params, answer.text)
        assert answer.json()["error"]["param"] == param, (params, answer.text)
    listed = await client.get("/v1/limits/policies", headers=merchant.auth())
    assert listed.json()["data"] == []


async def test_a_vpa_list_stores_and_shows_no_vpa(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    created = await client.post(
        "/v1/limits/policies",
        json={"kind": "list", "action": "deny", "subject": "vpa", "values": ["mule.one@okbank"]},
        headers=merchant.auth(),
    )
    assert created.status_code == 200, created.text
    assert created.json()["values"] == ["mu****@okbank"]
    assert "mule.one" not in created.text
    events = await client.get("/v1/events", params={"limit": 10}, headers=merchant.auth())
    assert "mule.one" not in events.text
