"""Customers over HTTP: CRUD, scoping, parameters, lists."""

from __future__ import annotations

import httpx

from tests.support import TestMerchant


async def test_create_retrieve_update_delete(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    created = await client.post(
        "/v1/customers",
        content="name=Asha&email=asha%40example.com&metadata[order]=42&address[city]=Pune",
        headers={**merchant.auth(), "content-type": "application/x-www-form-urlencoded"},
    )
    assert created.status_code == 200, created.text
    customer = created.json()
    assert customer["id"].startswith("cus_")
    assert customer["object"] == "customer"
    assert customer["livemode"] is False
    assert customer["metadata"] == {"order": "42"}
    assert customer["address"]["city"] == "Pune"

    fetched = await client.get(f"/v1/customers/{customer['id']}", headers=merchant.auth())
    assert fetched.json() == customer

    updated = await client.post(
        f"/v1/customers/{customer['id']}",
        json={"metadata": {"order": "", "tier": "gold"}, "name": ""},
        headers=merchant.auth(),
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["metadata"] == {"tier": "gold"}
    assert updated.json()["name"] is None

    deleted = await client.delete(f"/v1/customers/{customer['id']}", headers=merchant.auth())
    assert deleted.json() == {"id": customer["id"], "object": "customer", "deleted": True}
    again = await client.get(f"/v1/customers/{customer['id']}", headers=merchant.auth())
    assert again.json() == {"id": customer["id"], "object": "customer", "deleted": True}
