"""Answers that show a secret (new API keys, webhook signing secrets) are stored sealed for
idempotent replay: the idempotency_keys table never holds the secret in clear, and a replay
still returns it byte for byte."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.merchants.domain import KeyKind
from beyondpay.merchants.service import api_key_service
from tests.support import TestMerchant, ring_for_tests


async def _stored_answer(database: Database, key: str) -> bytes:
    async with database.unit_of_work() as session:
        stored = (
            await session.execute(
                text("SELECT response_body FROM idempotency_keys WHERE key = :key"), {"key": key}
            )
        ).scalar_one()
    return bytes(stored)


async def _post_twice(
    client: httpx.AsyncClient, path: str, body: dict[str, object], headers: dict[str, str]
) -> httpx.Response:
    first = await client.post(path, json=body, headers=headers)
    assert first.status_code == 200, first.text
    replayed = await client.post(path, json=body, headers=headers)
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.content == first.content
    return first


async def test_api_key_create_and_roll_answers_are_sealed(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    headers = {**merchant.auth(), "Idempotency-Key": "sealed-key-create"}
    created = await _post_twice(client, "/v1/api_keys", {"scopes": ["customers:read"]}, headers)
    secret = created.json()["secret"]
    stored = await _stored_answer(database, "sealed-key-create")
    assert secret.encode() not in stored
    assert stored.startswith(b"sealed:")

    headers = {**merchant.auth(), "Idempotency-Key": "sealed-key-roll"}
    path = f"/v1/api_keys/{created.json()['id']}/roll"
    rolled = await _post_twice(client, path, {"expires_in": 60}, headers)
    assert rolled.json()["secret"] != secret
    assert rolled.json()["secret"].encode() not in await _stored_answer(database, "sealed-key-roll")


async def test_platform_merchant_answers_are_sealed(
    client: httpx.AsyncClient, database: Database
) -> None:
    async with database.unit_of_work() as session:
        admin = await api_key_service.issue(
            session, ring_for_tests(), merchant_id=None, kind=KeyKind.admin, livemode=True
        )
    headers = {"Authorization": f"Bearer {admin.secret}", "Idempotency-Key": "sealed-merchant"}
    created = await _post_twice(client, "/v1/platform/merchants", {"name": "Sealed"}, headers)
    stored = await _stored_answer(database, "sealed-merchant")
    keys = [value for value in _strings(created.json()) if value.startswith(("sk_", "pk_"))]
    assert keys, created.text
    for key in keys:
        assert key.encode() not in stored


async def test_ordinary_answers_stay_in_clear(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    headers = {**merchant.auth(), "Idempotency-Key": "plain-customer"}
    created = await _post_twice(client, "/v1/customers", {"name": "Asha"}, headers)
    assert await _stored_answer(database, "plain-customer") == created.content


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [item for child in value.values() for item in _strings(child)]
    if isinstance(value, list):
        return [item for child in value for item in _strings(child)]
    return []
