"""A key with an IP allowlist works only from the networks on it."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from beyondpay.db.session import Database
from beyondpay.merchants.domain import KeyKind
from beyondpay.merchants.service import api_key_service
from tests.support import TestMerchant, ring_for_tests

FORM = {"content-type": "application/x-www-form-urlencoded"}


async def _issue(database: Database, merchant: TestMerchant, allowed_ips: list[str]) -> str:
    async with database.unit_of_work() as session:
        issued = await api_key_service.issue(
            session,
            ring_for_tests(),
            merchant_id=merchant.id,
            kind=KeyKind.secret,
            livemode=False,
            allowed_ips=allowed_ips,
        )
    return str(issued.secret)


def _client(app: FastAPI, ip: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def _list_status(app: FastAPI, ip: str, key: str) -> httpx.Response:
    async with _client(app, ip) as client:
        return await client.get("/v1/customers", headers={"Authorization": f"Bearer {key}"})


async def test_a_key_works_only_from_its_networks(
    api_app: FastAPI, database: Database, merchant: TestMerchant
) -> None:
    key = await _issue(database, merchant, ["10.1.0.0/16", "192.0.2.7", "2001:db8::/48"])
    for inside in ("10.1.2.3", "192.0.2.7", "2001:db8:0:5::1"):
        response = await _list_status(api_app, inside, key)
        assert response.status_code == 200, (inside, response.text)
    for outside in ("10.2.0.1", "192.0.2.8", "2001:db9::1", "127.0.0.1", "not-an-ip"):
        refused = await _list_status(api_app, outside, key)
        assert refused.status_code == 403, outside
        assert refused.json() == {
            "error": {
                "type": "permission_error",
                "code": "ip_not_allowed",
                "message": "This API key cannot be used from this IP address.",
            }
        }


async def test_a_refused_address_changes_nothing(
    api_app: FastAPI, database: Database, merchant: TestMerchant
) -> None:
    key = await _issue(database, merchant, ["10.1.0.0/16"])
    post: dict[str, Any] = {
        "url": "/v1/customers",
        "content": "name=Asha",
        "headers": {"Authorization": f"Bearer {key}", **FORM, "Idempotency-Key": "k1"},
    }
    async with _client(api_app, "10.9.9.9") as outside:
        refused = await outside.post(**post)
        assert refused.status_code == 403
    async with _client(api_app, "10.1.0.1") as inside:
        # Nothing was stored under the key: from an allowed address it runs.
        created = await inside.post(**post)
        assert created.status_code == 200, created.text
        assert "idempotent-replayed" not in created.headers
        listed = await inside.get("/v1/customers", headers={"Authorization": f"Bearer {key}"})
        assert [customer["name"] for customer in listed.json()["data"]] == ["Asha"]


async def test_keys_without_a_list_work_from_anywhere(
    api_app: FastAPI, merchant: TestMerchant
) -> None:
    for address in ("10.2.0.1", "2001:db9::1", "127.0.0.1"):
        response = await _list_status(api_app, address, merchant.keys["sk_test"])
        assert response.status_code == 200, address


async def test_an_ipv4_client_seen_through_ipv6_is_allowed(
    api_app: FastAPI, database: Database, merchant: TestMerchant
) -> None:
    key = await _issue(database, merchant, ["10.1.0.0/16"])
    assert (await _list_status(api_app, "::ffff:10.1.0.9", key)).status_code == 200
