"""Authentication: Bearer or Basic, Stripe's 401 envelope, and which key kind reaches what."""

from __future__ import annotations

import base64

import httpx
import pytest

from beyondpay.db.session import Database
from beyondpay.merchants.domain import MerchantStatus
from tests.support import TestMerchant, make_merchant


def _basic(user: str, password: str = "") -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


async def test_bearer_and_basic_authenticate_the_same_key(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    key = merchant.keys["sk_test"]
    bearer = await client.get("/v1/customers", headers={"Authorization": f"Bearer {key}"})
    basic = await client.get("/v1/customers", headers=_basic(key))
    lower = await client.get("/v1/customers", headers={"Authorization": f"bearer {key}"})
    assert bearer.status_code == basic.status_code == lower.status_code == 200


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "api_key_missing"),
        ({"Authorization": ""}, "api_key_missing"),
        ({"Authorization": "Bearer"}, "api_key_invalid"),
        ({"Authorization": "Token sk_test_x"}, "api_key_invalid"),
        ({"Authorization": "Basic !!notbase64"}, "api_key_invalid"),
        (_basic(""), "api_key_invalid"),
        ({"Authorization": "Bearer sk_test_" + "a" * 40}, "api_key_invalid"),
        ({"Authorization": "Bearer " + "x" * 600}, "api_key_invalid"),
    ],
)
async def test_bad_credentials_get_stripes_401(
    client: httpx.AsyncClient, merchant: TestMerchant, headers: dict[str, str], code: str
) -> None:
    response = await client.get("/v1/customers", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert error["type"] == "authentication_error"
    assert error["code"] == code


async def test_a_401_never_echoes_the_whole_key(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    wrong = "sk_test_" + "Z" * 36 + "wxyz"
    response = await client.get("/v1/customers", headers={"Authorization": f"Bearer {wrong}"})
    assert response.status_code == 401
    assert wrong not in response.text
    assert "sk_test_...wxyz" in response.json()["error"]["message"]


async def test_the_mode_of_a_key_is_the_mode_of_what_it_sees(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    test = (await client.post("/v1/customers", data={"name": "t"}, headers=merchant.auth())).json()
    live_key = merchant.auth("sk_live")
    live = (await client.post("/v1/customers", data={"name": "l"}, headers=live_key)).json()
    assert (test["livemode"], live["livemode"]) == (False, True)
    hidden = await client.get(f"/v1/customers/{test['id']}", headers=live_key)
    unknown = await client.get("/v1/customers/cus_neverexisted", headers=live_key)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["error"]["code"] == unknown.json()["error"]["code"] == "resource_missing"
    listed = await client.get("/v1/customers", headers=live_key)
    assert [customer["id"] for customer in listed.json()["data"]] == [live["id"]]


async def test_live_keys_wait_for_kyc_and_suspension_stops_every_key(
    client: httpx.AsyncClient, database: Database
) -> None:
    pending = await make_merchant(database, status=MerchantStatus.pending_kyc)
    refused = await client.get("/v1/customers", headers=pending.auth("sk_live"))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "account_not_active"
    # It names what activates the account: the KYC routes, and the command of a development
    # install.
    message = refused.json()["error"]["message"]
    assert "POST /v1/account/kyc_documents" in message
    assert "POST /v1/platform/kyc_documents/{id}/approve" in message
    assert f"`beyondpay merchants activate {pending.id}`" in message
    assert (await client.get("/v1/customers", headers=pending.auth())).status_code == 200

    suspended = await make_merchant(database, status=MerchantStatus.suspended)
    for key in ("sk_test", "sk_live"):
        response = await client.get("/v1/customers", headers=suspended.auth(key))
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "account_suspended"


async def test_publishable_keys_are_refused_on_secret_routes(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    response = await client.post(
        "/v1/customers", data={"name": "x"}, headers=merchant.auth("pk_test")
    )
    assert response.status_code == 403
    assert response.json()["error"] == {
        "type": "permission_error",
        "code": "secret_key_required",
        "message": "This API call cannot be made with a publishable API key. Use a secret API key.",
    }


async def test_restricted_scopes_write_implies_read(
    client: httpx.AsyncClient, database: Database
) -> None:
    reader = await make_merchant(database, restricted_scopes=("customers:read",))
    writer = await make_merchant(database, restricted_scopes=("customers:write",))
    assert (await client.get("/v1/customers", headers=reader.auth("rk_test"))).status_code == 200
    denied = await client.post("/v1/customers", data={"name": "x"}, headers=reader.auth("rk_test"))
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "scope_missing"
    assert "customers:write" in denied.json()["error"]["message"]
    created = await client.post("/v1/customers", data={"name": "x"}, headers=writer.auth("rk_test"))
    assert created.status_code == 200
    assert (await client.get("/v1/customers", headers=writer.auth("rk_test"))).status_code == 200
