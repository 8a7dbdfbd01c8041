"""Webhook endpoints over HTTP: CRUD, the SSRF guard at registration, the secret shown only at
creation and roll, sealed at rest and in the idempotency store, and rolls signing with both."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import stripe
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import utcnow
from beyondpay.kit.settings import Settings
from beyondpay.webhooks.models import WebhookEndpointRow
from beyondpay.webhooks.service import ENDPOINTS_MAX, active_secrets
from beyondpay.webhooks.signing import signature_headers
from tests.support import TEST_RING_TEXT, TestMerchant, ring_for_tests

LOCAL_URL = "http://127.0.0.1:3000/webhooks"
PUBLIC_URL = "https://1.1.1.1/webhooks"


async def _create(
    client: httpx.AsyncClient, merchant: TestMerchant, key: str = "sk_test", **params: object
) -> httpx.Response:
    body = {"url": LOCAL_URL, "enabled_events": ["customer.created"], **params}
    return await client.post("/v1/webhook_endpoints", json=body, headers=merchant.auth(key))


async def _row(database: Database, endpoint_id: str) -> WebhookEndpointRow:
    async with database.unit_of_work() as session:
        row = await session.get(WebhookEndpointRow, endpoint_id)
        assert row is not None
        session.expunge(row)
        return row


async def test_create_retrieve_update_list_delete(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    created = await _create(
        client,
        merchant,
        enabled_events=["customer.created", "customer.updated", "customer.created"],
        description="Orders",
        metadata={"team": "checkout"},
    )
    assert created.status_code == 200, created.text
    endpoint = created.json()
    assert endpoint["id"].startswith("we_")
    assert endpoint["object"] == "webhook_endpoint"
    assert endpoint["secret"].startswith("whsec_")
    assert endpoint["status"] == "enabled"
    assert endpoint["livemode"] is False
    assert endpoint["url"] == LOCAL_URL
    assert endpoint["enabled_events"] == ["customer.created", "customer.updated"]
    assert endpoint["metadata"] == {"team": "checkout"}
    path = f"/v1/webhook_endpoints/{endpoint['id']}"

    fetched = (await client.get(path, headers=merchant.auth())).json()
    assert "secret" not in fetched  # as Stripe: the secret is shown at creation only
    assert fetched == {key: value for key, value in endpoint.items() if key != "secret"}

    updated = await client.post(
        path,
        json={"enabled_events": ["*"], "description": "", "disabled": True, "url": PUBLIC_URL},
        headers=merchant.auth(),
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["enabled_events"] == ["*"]
    assert updated.json()["description"] is None
    assert updated.json()["status"] == "disabled"
    assert updated.json()["url"] == PUBLIC_URL
    assert "secret" not in updated.json()
    enabled = await client.post(path, data={"disabled": "false"}, headers=merchant.auth())
    assert enabled.json()["status"] == "enabled"

    listed = await client.get("/v1/webhook_endpoints", headers=merchant.auth())
    assert [item["id"] for item in listed.json()["data"]] == [endpoint["id"]]
    assert "secret" not in listed.json()["data"][0]
    assert (await client.get("/v1/webhook_endpoints", headers=merchant.auth("sk_live"))).json()[
        "data"
    ] == []

    deleted = await client.delete(path, headers=merchant.auth())
    assert deleted.json() == {"id": endpoint["id"], "object": "webhook_endpoint", "deleted": True}
    assert (await client.get(path, headers=merchant.auth())).json()["deleted"] is True
    again = await client.post(path, json={"description": "x"}, headers=merchant.auth())
    assert again.status_code == 404
    listed = await client.get("/v1/webhook_endpoints", headers=merchant.auth())
    assert listed.json()["data"] == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1",
        "http://10.0.0.1",
        "http://169.254.169.254",
        "http://[::1]",
        "https://127.0.0.1/hook",
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://localhost/hook",
    ],
)
async def test_live_mode_refuses_private_urls_naming_url(
    client: httpx.AsyncClient, merchant: TestMerchant, url: str
) -> None:
    refused = await _create(client, merchant, "sk_live", url=url)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["param"] == "url"
    assert refused.json()["error"]["code"] == "url_invalid"
    accepted = await _create(client, merchant, "sk_live", url=PUBLIC_URL)
    assert accepted.status_code == 200, accepted.text
    moved = await client.post(
        f"/v1/webhook_endpoints/{accepted.json()['id']}",
        json={"url": url},
        headers=merchant.auth("sk_live"),
    )
    assert moved.status_code == 400
    assert moved.json()["error"]["param"] == "url"


async def test_a_refused_url_is_not_stored_under_the_idempotency_key(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    """The URL is vetted before the mutation starts: the same key may retry with a fixed URL."""
    headers = {**merchant.auth("sk_live"), "Idempotency-Key": "vetted-1"}
    body = {"url": "https://10.0.0.1/hook", "enabled_events": ["*"]}
    refused = await client.post("/v1/webhook_endpoints", json=body, headers=headers)
    assert refused.status_code == 400, refused.text
    fixed = await client.post(
        "/v1/webhook_endpoints", json={**body, "url": PUBLIC_URL}, headers=headers
    )
    assert fixed.status_code == 200, fixed.text
    assert "idempotent-replayed" not in fixed.headers


async def test_parameters_are_checked(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    unknown = await _create(client, merchant, enabled_events=["charge.teleported"])
    assert unknown.status_code == 400
    assert unknown.json()["error"]["param"] == "enabled_events"
    empty = await _create(client, merchant, enabled_events=[])
    assert empty.status_code == 400
    missing = await client.post(
        "/v1/webhook_endpoints", json={"url": LOCAL_URL}, headers=merchant.auth()
    )
    assert missing.json()["error"]["param"] == "enabled_events"
    scheme = await _create(client, merchant, url="ftp://example.com/hook")
    assert scheme.json()["error"]["param"] == "url"
    userinfo = await _create(client, merchant, url="http://user:hunter2secret@127.0.0.1/hook")
    assert userinfo.json()["error"]["param"] == "url"
    assert "hunter2secret" not in userinfo.text
    created = (await _create(client, merchant)).json()
    roll = await client.post(
        f"/v1/webhook_endpoints/{created['id']}/roll_secret",
        json={"expires_in": 24 * 3600 + 1},
        headers=merchant.auth(),
    )
    assert roll.status_code == 400
    assert roll.json()["error"]["param"] == "expires_in"


async def test_the_secret_is_sealed_at_rest_and_in_the_idempotency_store(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    headers = {**merchant.auth(), "Idempotency-Key": "create-endpoint-1"}
    body = {"url": LOCAL_URL, "enabled_events": ["*"]}
    first = await client.post("/v1/webhook_endpoints", json=body, headers=headers)
    assert first.status_code == 200, first.text
    secret = first.json()["secret"]
    secret_body = secret.removeprefix("whsec_")

    replayed = await client.post("/v1/webhook_endpoints", json=body, headers=headers)
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.content == first.content  # the same answer, secret included

    async with database.unit_of_work() as session:
        stored = (
            await session.execute(
                text("SELECT response_body FROM idempotency_keys WHERE key = 'create-endpoint-1'")
            )
        ).scalar_one()
        columns = (
            await session.execute(
                text("SELECT webhook_endpoints::text FROM webhook_endpoints WHERE id = :id"),
                {"id": first.json()["id"]},
            )
        ).scalar_one()
    assert secret_body.encode() not in bytes(stored)
    assert first.json()["id"].encode() not in bytes(stored)  # nothing of the answer in clear
    assert secret_body not in columns
    row = await _row(database, first.json()["id"])
    assert active_secrets(ring_for_tests(), row, utcnow()) == [secret]


async def test_roll_secret_signs_with_both_during_the_overlap(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    created = (await _create(client, merchant)).json()
    old = created["secret"]
    path = f"/v1/webhook_endpoints/{created['id']}/roll_secret"
    rolled = await client.post(path, json={"expires_in": 3600}, headers=merchant.auth())
    assert rolled.status_code == 200, rolled.text
    new = rolled.json()["secret"]
    assert new.startswith("whsec_")
    assert new != old
    assert rolled.json()["id"] == created["id"]

    row = await _row(database, created["id"])
    now = utcnow()
    secrets = active_secrets(ring_for_tests(), row, now)
    assert secrets == [new, old]
    payload = b'{"id":"evt_1","object":"event","type":"customer.created"}'
    signed = signature_headers(secrets, "evt_1", int(time.time()), payload)
    for secret in (new, old):
        stripe.Webhook.construct_event(payload, signed["Stripe-Signature"], secret)
    assert row.previous_secret_expires_at is not None
    assert active_secrets(ring_for_tests(), row, row.previous_secret_expires_at) == [new]

    # A roll without overlap: the previous secret stops at once.
    again = await client.post(path, json={}, headers=merchant.auth())
    newest = again.json()["secret"]
    row = await _row(database, created["id"])
    assert active_secrets(ring_for_tests(), row, utcnow()) == [newest]


async def test_another_merchant_cannot_see_or_change_an_endpoint(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    from tests.support import make_merchant

    other = await make_merchant(database, name="Other")
    created = (await _create(client, merchant)).json()
    path = f"/v1/webhook_endpoints/{created['id']}"
    assert (await client.get(path, headers=other.auth())).status_code == 404
    roll = await client.post(f"{path}/roll_secret", json={}, headers=other.auth())
    assert roll.status_code == 404
    assert (await client.delete(path, headers=other.auth())).status_code == 404


@pytest.fixture
async def strict_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    from beyondpay.app import create_app

    settings = Settings(
        secret_keys=TEST_RING_TEXT,
        rate_limits_enabled=False,
        webhooks_allow_private_test_urls=False,
    )
    app = create_app(settings, database_url)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def test_the_operator_can_refuse_private_urls_in_test_mode(
    strict_client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    for url in (LOCAL_URL, "http://10.0.0.1/hook", "http://[::1]/hook"):
        refused = await _create(strict_client, merchant, url=url)
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["param"] == "url"
    public = await _create(strict_client, merchant, url="http://1.1.1.1/hook")
    assert public.status_code == 200, public.text


async def test_sixteen_endpoints_per_mode_even_when_created_at_once(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    async def create(index: int) -> httpx.Response:
        return await client.post(
            "/v1/webhook_endpoints",
            data={"url": f"{LOCAL_URL}/{index}", "enabled_events[0]": "*"},
            headers=merchant.auth(),
        )

    answers = await asyncio.gather(*(create(index) for index in range(ENDPOINTS_MAX + 4)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * ENDPOINTS_MAX + [400] * 4
    refused = next(answer for answer in answers if answer.status_code == 400)
    assert refused.json()["error"]["code"] == "webhook_endpoints_limit"
    # A deleted one does not count.
    first = next(answer for answer in answers if answer.status_code == 200).json()
    deleted = await client.delete(f"/v1/webhook_endpoints/{first['id']}", headers=merchant.auth())
    assert deleted.status_code == 200
    assert (await create(100)).status_code == 200
    assert (await create(101)).status_code == 400
