"""``Stripe-Account``: a platform's key acts as one of its connected accounts; any other
account is Stripe's 403, whether it exists or not."""

from __future__ import annotations

import httpx

from beyondpay.db.session import Database
from tests.connect.support import connected
from tests.support import TestMerchant, make_merchant


async def test_a_platform_acts_as_its_connected_account(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    account = await connected(client, merchant)
    acting = merchant.auth() | {"Stripe-Account": account["id"]}
    customer = await client.post("/v1/customers", data={"name": "Asha"}, headers=acting)
    assert customer.status_code == 200, customer.text
    # The customer is the connected account's: the platform's own list does not show it.
    own = await client.get("/v1/customers", headers=merchant.auth())
    assert customer.json()["id"] not in [item["id"] for item in own.json()["data"]]
    theirs = await client.get("/v1/customers", headers=acting)
    assert [item["id"] for item in theirs.json()["data"]] == [customer.json()["id"]]
    # The account retrieves itself as /v1/account and /v1/accounts/{id}.
    assert (await client.get("/v1/account", headers=acting)).json()["id"] == account["id"]
    assert (await client.get(f"/v1/accounts/{account['id']}", headers=acting)).json()[
        "id"
    ] == account["id"]
    # Its own id is the platform itself.
    itself = merchant.auth() | {"Stripe-Account": merchant.id}
    assert (await client.get("/v1/account", headers=itself)).json()["id"] == merchant.id


async def test_idempotency_keys_are_the_acting_accounts(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    account = await connected(client, merchant)
    key = {"Idempotency-Key": "same-key"}
    mine = await client.post("/v1/customers", data={"name": "A"}, headers=merchant.auth() | key)
    theirs = await client.post(
        "/v1/customers",
        data={"name": "B"},
        headers=merchant.auth() | key | {"Stripe-Account": account["id"]},
    )
    assert mine.status_code == theirs.status_code == 200, theirs.text
    assert mine.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs.headers


async def test_other_accounts_are_refused_as_stripe_refuses_them(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    account = await connected(client, merchant)
    stranger = await make_merchant(database, name="Other platform")
    for headers in (
        stranger.auth() | {"Stripe-Account": account["id"]},  # another platform's account
        merchant.auth() | {"Stripe-Account": "acct_doesnotexist"},
        merchant.auth() | {"Stripe-Account": stranger.id},  # a merchant, not connected
        merchant.auth("sk_live") | {"Stripe-Account": account["id"]},  # the other mode
    ):
        refused = await client.get("/v1/customers", headers=headers)
        assert refused.status_code == 403, refused.text
        error = refused.json()["error"]
        assert error["code"] == "account_invalid"
        assert "does not have access to account" in error["message"]
    # A connected account's own key cannot act as its platform.
    deleted = await client.delete(f"/v1/accounts/{account['id']}", headers=merchant.auth())
    assert deleted.status_code == 200
    gone = await client.get(
        "/v1/customers", headers=merchant.auth() | {"Stripe-Account": account["id"]}
    )
    assert gone.status_code == 403
