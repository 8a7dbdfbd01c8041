"""Accounts, KYC review and API keys over HTTP, as merchants and as a platform admin."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.merchants.domain import KeyKind, MerchantStatus
from beyondpay.merchants.service import api_key_service
from tests.support import TestMerchant, make_merchant, ring_for_tests

PAN = "AAPFU0939F"
GSTIN = "27AAPFU0939F1ZV"
ACCOUNT_NUMBER = "000123456789012"
LAST_USED_POLLS_MAX = 100
LAST_USED_POLL_S = 0.02
BANK = {"account_number": ACCOUNT_NUMBER, "ifsc": "HDFC0001234", "account_holder_name": "Acme"}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def admin(database: Database) -> dict[str, str]:
    async with database.unit_of_work() as session:
        issued = await api_key_service.issue(
            session, ring_for_tests(), merchant_id=None, kind=KeyKind.admin, livemode=True
        )
    return bearer(issued.secret)


async def _create_merchant(client: httpx.AsyncClient, admin: dict[str, str]) -> TestMerchant:
    response = await client.post("/v1/platform/merchants", json={"name": "Acme"}, headers=admin)
    assert response.status_code == 200, response.text
    account = response.json()
    assert account["object"] == "account"
    assert account["status"] == "pending_kyc"
    assert account["requirements"]["currently_due"] == ["bank_account", "pan"]
    merchant = TestMerchant(account["id"])
    for key in account["api_keys"]:
        merchant.keys[key["secret"][:7]] = key["secret"]
        assert key["redacted"].endswith(key["secret"][-4:])
    assert set(merchant.keys) == {"sk_test", "pk_test", "sk_live", "pk_live"}
    return merchant


async def test_kyc_lifecycle_to_live_keys(
    client: httpx.AsyncClient, admin: dict[str, str], capfd: pytest.CaptureFixture[str]
) -> None:
    seen: list[str] = []

    async def call(method: str, url: str, key: dict[str, str], **kwargs: object) -> httpx.Response:
        response = await client.request(method, url, headers=key, **kwargs)  # type: ignore[arg-type]
        seen.append(response.text)
        return response

    merchant = await _create_merchant(client, admin)
    # Before approval: live keys are refused, test keys work.
    refused = await call("GET", "/v1/customers", merchant.auth("sk_live"))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "account_not_active"
    assert (await call("GET", "/v1/customers", merchant.auth("sk_test"))).status_code == 200

    pan = await call(
        "POST",
        "/v1/account/kyc_documents",
        merchant.auth(),
        content=f"type=pan&pan[number]={PAN}",
        # form-encoded, as the Stripe SDKs send
    )
    assert pan.status_code == 200, pan.text
    assert pan.json()["details"] == {"last4": "939F"}
    bank = await call(
        "POST",
        "/v1/account/kyc_documents",
        merchant.auth(),
        json={"type": "bank_account", "bank_account": BANK},
    )
    assert bank.json()["status"] == "pending_review"
    account = (await call("GET", "/v1/account", merchant.auth())).json()
    assert account["requirements"] == {
        "currently_due": [],
        "pending_verification": ["bank_account", "pan"],
    }

    reason = "The account holder's name does not match the PAN."
    rejected = await call(
        "POST",
        f"/v1/platform/kyc_documents/{bank.json()['id']}/reject",
        admin,
        json={"reason": reason},
    )
    assert rejected.json()["status"] == "rejected"
    listed = (await call("GET", "/v1/account/kyc_documents", merchant.auth())).json()
    assert [(doc["type"], doc["rejection_reason"]) for doc in listed["data"]] == [
        ("bank_account", reason),
        ("pan", None),
    ]

    again = await call(
        "POST",
        "/v1/account/kyc_documents",
        merchant.auth(),
        json={"type": "bank_account", "bank_account": BANK},
    )
    queue = (await call("GET", "/v1/platform/kyc_documents?status=pending_review", admin)).json()
    assert {doc["id"] for doc in queue["data"]} == {pan.json()["id"], again.json()["id"]}
    for document in queue["data"]:
        approved = await call("POST", f"/v1/platform/kyc_documents/{document['id']}/approve", admin)
        assert approved.json()["status"] == "approved", approved.text

    account = (await call("GET", f"/v1/platform/merchants/{merchant.id}", admin)).json()
    assert account["status"] == "active"
    live = await call("GET", "/v1/customers", merchant.auth("sk_live"))
    assert live.status_code == 200, live.text
    assert (await call("GET", "/v1/account", merchant.auth("sk_live"))).json()["id"] == merchant.id

    logs = capfd.readouterr()
    for text in [*seen, logs.out, logs.err]:
        assert PAN not in text
        assert ACCOUNT_NUMBER not in text


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"type": "pan", "pan": {"number": "AAPF0939FU"}}, "pan_invalid", "pan[number]"),
        ({"type": "gst", "gst": {"number": "27AAPFU0939F1ZW"}}, "gstin_invalid", "gst[number]"),
        (
            {"type": "bank_account", "bank_account": {**BANK, "ifsc": "HDFC1001234"}},
            "ifsc_invalid",
            "bank_account[ifsc]",
        ),
        (
            {"type": "bank_account", "bank_account": {**BANK, "account_number": "12ab"}},
            "account_number_invalid",
            "bank_account[account_number]",
        ),
        ({"type": "pan"}, "parameter_missing", "pan"),
        ({"type": "pan", "pan": {"number": PAN}, "gst": {"number": GSTIN}}, None, "gst"),
        ({"type": "passport"}, None, "type"),
        ({"type": "pan", "pan": {"number": PAN, "name": "x"}}, "parameter_unknown", "pan[name]"),
    ],
)
async def test_malformed_documents_are_400_naming_the_param(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    body: dict[str, object],
    code: str | None,
    param: str,
) -> None:
    response = await client.post(
        "/v1/account/kyc_documents",
        json=body,
        headers={**merchant.auth(), "Idempotency-Key": "doc-1"},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param
    if code is not None:
        assert error["code"] == code
    assert ACCOUNT_NUMBER[:8] not in response.text
    # A validation failure is not stored: the same key with a valid body then runs.
    fixed = await client.post(
        "/v1/account/kyc_documents",
        json={"type": "pan", "pan": {"number": PAN}},
        headers={**merchant.auth(), "Idempotency-Key": "doc-1"},
    )
    assert fixed.status_code == 200, fixed.text


async def test_publishable_and_restricted_keys_cannot_reach_secret_routes(
    client: httpx.AsyncClient, database: Database
) -> None:
    merchant = await make_merchant(database, restricted_scopes=("customers:write",))
    for key in ("pk_test", "rk_test"):
        for method, url in [
            ("GET", "/v1/account/kyc_documents"),
            ("POST", "/v1/account/kyc_documents"),
            ("GET", "/v1/api_keys"),
            ("POST", "/v1/api_keys"),
        ]:
            response = await client.request(method, url, headers=merchant.auth(key))
            assert response.status_code == 403, (key, url, response.text)
    publishable = await client.get("/v1/account", headers=merchant.auth("pk_test"))
    assert publishable.json()["error"]["code"] == "secret_key_required"


async def test_restricted_keys_hold_only_their_scopes(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    async def restricted(*scopes: str) -> dict[str, str]:
        response = await client.post(
            "/v1/api_keys",
            content="&".join(f"scopes[{i}]={scope}" for i, scope in enumerate(scopes))
            + "&name=reporting",
            headers={**merchant.auth(), "content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200, response.text
        key = response.json()
        assert key["type"] == "restricted"
        assert key["secret"].startswith("rk_test_")
        assert key["scopes"] == sorted(scopes)
        return bearer(key["secret"])

    reader = await restricted("customers:read")
    assert (await client.get("/v1/customers", headers=reader)).status_code == 200
    denied = await client.post("/v1/customers", json={}, headers=reader)
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "scope_missing"
    assert (await client.get("/v1/account", headers=reader)).status_code == 403

    writer = await restricted("customers:write", "account:read")
    assert (await client.post("/v1/customers", json={}, headers=writer)).status_code == 200
    assert (await client.get("/v1/customers", headers=writer)).status_code == 200  # write ⊃ read
    assert (await client.get("/v1/account", headers=writer)).status_code == 200

    for scopes, code in [
        (["api_keys:write"], "scope_not_grantable"),
        (["customers:read", "customers:admin"], "scope_invalid"),
    ]:
        refused = await client.post(
            "/v1/api_keys", json={"scopes": scopes}, headers=merchant.auth()
        )
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert (error["code"], error["param"]) == (code, f"scopes[{len(scopes) - 1}]")
    no_scopes = await client.post("/v1/api_keys", json={"scopes": []}, headers=merchant.auth())
    assert no_scopes.json()["error"]["param"] == "scopes"


async def _own_secret_key_once_used(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> dict[str, Any]:
    """The caller's secret key as listed, once its use is recorded (that write happens beside
    the request, not in it)."""
    for _attempt in range(LAST_USED_POLLS_MAX):
        keys = (await client.get("/v1/api_keys", headers=merchant.auth())).json()["data"]
        secret: dict[str, Any] = next(key for key in keys if key["type"] == "secret")
        if secret["last_used_at"] is not None:
            return secret
        await asyncio.sleep(LAST_USED_POLL_S)
    raise AssertionError("last_used_at was never recorded")


async def test_roll_with_overlap_then_expiry(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    with use_clock(clock):
        secret = await _own_secret_key_once_used(client, merchant)
        assert "secret" not in secret
        assert secret["redacted"] == f"sk_test_...{merchant.keys['sk_test'][-4:]}"
        assert secret["last_used_at"] == int(clock.now().timestamp())

        rolled = await client.post(
            f"/v1/api_keys/{secret['id']}/roll", json={"expires_in": 3600}, headers=merchant.auth()
        )
        assert rolled.status_code == 200, rolled.text
        new_key = rolled.json()
        assert new_key["secret"].startswith("sk_test_")
        assert new_key["rolled_from"]["expires_at"] == int(clock.now().timestamp()) + 3600
        assert new_key["rolled_from"]["rolled_to"] == new_key["id"]
        assert "secret" not in new_key["rolled_from"]

        clock.advance(3599)
        assert (await client.get("/v1/customers", headers=merchant.auth())).status_code == 200
        clock.advance(1)
        expired = await client.get("/v1/customers", headers=merchant.auth())
        assert expired.status_code == 401
        assert expired.json()["error"]["code"] == "api_key_expired"
        fresh = bearer(new_key["secret"])
        assert (await client.get("/v1/customers", headers=fresh)).status_code == 200
        listed = (await client.get("/v1/api_keys", headers=fresh)).json()["data"]
        statuses = {key["id"]: key["status"] for key in listed}
        assert statuses[secret["id"]] == "expired"
        assert statuses[new_key["id"]] == "active"

    too_long = await client.post(
        f"/v1/api_keys/{new_key['id']}/roll", json={"expires_in": 8 * 86400}, headers=fresh
    )
    assert too_long.status_code == 400
    assert too_long.json()["error"]["param"] == "expires_in"


async def test_revoke_is_immediate(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    created = await client.post(
        "/v1/api_keys", json={"scopes": ["customers:read"]}, headers=merchant.auth()
    )
    key = created.json()
    assert (await client.get("/v1/customers", headers=bearer(key["secret"]))).status_code == 200
    revoked = await client.post(f"/v1/api_keys/{key['id']}/revoke", headers=merchant.auth())
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert "secret" not in revoked.json()
    refused = await client.get("/v1/customers", headers=bearer(key["secret"]))
    assert refused.status_code == 401
    listed = (await client.get("/v1/api_keys", headers=merchant.auth())).json()["data"]
    assert key["id"] not in {item["id"] for item in listed}

    own_id = next(item["id"] for item in listed if item["type"] == "secret")
    last = await client.post(f"/v1/api_keys/{own_id}/revoke", headers=merchant.auth())
    assert last.status_code == 400
    assert last.json()["error"]["code"] == "api_key_last_of_kind"


async def test_keys_of_another_merchant_or_mode_are_unknown(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant
) -> None:
    other = await make_merchant(database, name="Other")
    live_keys = (await client.get("/v1/api_keys", headers=merchant.auth("sk_live"))).json()
    live_id = live_keys["data"][0]["id"]
    for auth in (merchant.auth("sk_test"), other.auth("sk_live")):
        response = await client.post(f"/v1/api_keys/{live_id}/revoke", headers=auth)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "resource_missing"


async def test_platform_routes_need_a_platform_admin_key(
    client: httpx.AsyncClient, merchant: TestMerchant, admin: dict[str, str]
) -> None:
    url = "/v1/platform/merchants"
    assert (await client.get(url)).status_code == 401
    for name in ("sk_test", "sk_live", "pk_test"):
        refused = await client.get(url, headers=merchant.auth(name))
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "platform_key_required"
    listed = await client.get(url, headers=admin)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["data"]] == [merchant.id]
    assert (await client.get("/v1/account", headers=admin)).status_code == 403


async def test_admin_posts_are_idempotent(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    headers = {**admin, "Idempotency-Key": "new-merchant-1"}
    first = await client.post("/v1/platform/merchants", json={"name": "Acme"}, headers=headers)
    second = await client.post("/v1/platform/merchants", json={"name": "Acme"}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    other = await client.post("/v1/platform/merchants", json={"name": "Beta"}, headers=headers)
    assert other.status_code == 400
    assert other.json()["error"]["type"] == "idempotency_error"
    listed = (await client.get("/v1/platform/merchants", headers=admin)).json()
    assert len(listed["data"]) == 1


async def test_suspension_refuses_every_key_until_reactivated(
    client: httpx.AsyncClient, merchant: TestMerchant, admin: dict[str, str]
) -> None:
    missing = await client.post(
        f"/v1/platform/merchants/{merchant.id}/suspend", json={}, headers=admin
    )
    assert missing.json()["error"]["param"] == "reason"
    suspended = await client.post(
        f"/v1/platform/merchants/{merchant.id}/suspend",
        json={"reason": "Unusual refund volume"},
        headers=admin,
    )
    assert suspended.json()["status"] == MerchantStatus.suspended
    assert suspended.json()["status_reason"] == "Unusual refund volume"
    for name in ("sk_test", "sk_live"):
        refused = await client.get("/v1/customers", headers=merchant.auth(name))
        assert refused.json()["error"]["code"] == "account_suspended"
    reactivated = await client.post(
        f"/v1/platform/merchants/{merchant.id}/reactivate", headers=admin
    )
    # This merchant was made active without KYC documents: reactivation puts it back to review.
    assert reactivated.json()["status"] == "pending_kyc"
    assert (await client.get("/v1/customers", headers=merchant.auth())).status_code == 200
    unknown = await client.get("/v1/platform/merchants/acct_unknown", headers=admin)
    assert unknown.status_code == 404


async def test_a_reviewer_reads_details_in_full_and_the_read_is_audited(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    merchant = await _create_merchant(client, admin)
    submitted = await client.post(
        "/v1/account/kyc_documents",
        json={"type": "pan", "pan": {"number": PAN}},
        headers=merchant.auth(),
    )
    assert submitted.status_code == 200, submitted.text
    document = submitted.json()
    assert PAN not in submitted.text  # the merchant's own answer is masked

    path = f"/v1/platform/kyc_documents/{document['id']}/reveal"
    revealed = await client.get(path, headers=admin)
    assert revealed.status_code == 200, revealed.text
    assert revealed.json()["details"]["number"] == PAN
    assert revealed.headers["cache-control"] == "no-store"
    assert (await client.get(path, headers=merchant.auth())).status_code == 403
    unknown = await client.get("/v1/platform/kyc_documents/kyc_nope/reveal", headers=admin)
    assert unknown.status_code == 404

    trail = (await client.get("/v1/platform/audit_events", headers=admin)).json()["data"]
    reads = [event for event in trail if event["route"].endswith("/reveal")]
    assert [(event["method"], event["object_id"]) for event in reads] == [("GET", document["id"])]
    assert PAN not in str(trail)
