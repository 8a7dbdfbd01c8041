"""Connected accounts over HTTP (``/v1/accounts``): create, retrieve, update, list, delete by
the platform; the account's own view; other platforms and bad input refused."""

from __future__ import annotations

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.connect.support import connected
from tests.payments.support import get, post
from tests.support import TestMerchant, make_merchant


async def test_a_platform_creates_reads_updates_lists_and_deletes_its_accounts(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    created = await client.post(
        "/v1/accounts",
        content=(
            "type=custom&country=IN&email=shop%40example.com&business_type=company"
            "&business_profile[name]=Chai%20Point&business_profile[mcc]=5812"
            "&capabilities[card_payments][requested]=true"
            "&capabilities[transfers][requested]=true&metadata[shop]=7"
        ),
        headers={**merchant.auth(), "content-type": "application/x-www-form-urlencoded"},
    )
    assert created.status_code == 200, created.text
    account = created.json()
    assert account["id"].startswith("acct_") and account["object"] == "account"
    assert account["type"] == "custom" and account["country"] == "IN"
    assert account["email"] == "shop@example.com" and account["business_type"] == "company"
    assert account["business_profile"]["name"] == "Chai Point"
    assert account["business_profile"]["mcc"] == "5812"
    assert account["metadata"] == {"shop": "7"}
    # KYC not sent yet: nothing enabled, the documents due.
    assert account["charges_enabled"] is False and account["payouts_enabled"] is False
    assert account["details_submitted"] is False
    assert account["capabilities"] == {"card_payments": "inactive", "transfers": "inactive"}
    assert account["requirements"]["currently_due"] == ["bank_account", "pan"]
    assert account["requirements"]["disabled_reason"] == "requirements.past_due"
    # Settlement's payout schedule: daily by default, after the windows' delay.
    assert account["settings"]["payouts"]["schedule"]["interval"] == "daily"

    assert await get(client, merchant, f"/v1/accounts/{account['id']}") == account
    updated = await post(
        client,
        merchant,
        f"/v1/accounts/{account['id']}",
        **{"business_profile[name]": "Chai Point Pune", "metadata[shop]": "8"},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["business_profile"]["name"] == "Chai Point Pune"
    assert updated.json()["metadata"] == {"shop": "8"}

    second = await connected(client, merchant)
    listed = await get(client, merchant, "/v1/accounts")
    assert listed["url"] == "/v1/accounts"
    assert [item["id"] for item in listed["data"]] == [second["id"], account["id"]]

    deleted = await client.delete(f"/v1/accounts/{second['id']}", headers=merchant.auth())
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"id": second["id"], "object": "account", "deleted": True}
    gone = await client.get(f"/v1/accounts/{second['id']}", headers=merchant.auth())
    assert gone.status_code == 404
    assert [item["id"] for item in (await get(client, merchant, "/v1/accounts"))["data"]] == [
        account["id"]
    ]

    async with database.unit_of_work() as session:
        events = (
            await session.execute(
                text("SELECT merchant_id, data FROM events WHERE type = 'account.updated'")
            )
        ).all()
    # On the platform's stream, the connected account as the object, what changed named.
    assert len(events) == 1
    assert events[0][0] == merchant.id
    assert events[0][1]["object"]["id"] == account["id"]
    assert events[0][1]["previous_attributes"]["metadata"] == {"shop": "7"}


async def test_kyc_approved_enables_charges_and_payouts(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    account = await connected(client, merchant)
    async with database.unit_of_work() as session:
        await session.execute(
            text("UPDATE merchants SET status = 'active' WHERE id = :id"), {"id": account["id"]}
        )
    found = await get(client, merchant, f"/v1/accounts/{account['id']}")
    assert found["charges_enabled"] is True and found["payouts_enabled"] is True
    assert found["requirements"]["disabled_reason"] is None
    assert found["requirements"]["past_due"] == []


async def test_another_platform_and_other_modes_see_nothing(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    account = await connected(client, merchant)
    stranger = await make_merchant(database, name="Other platform")
    for method, path in (
        ("GET", f"/v1/accounts/{account['id']}"),
        ("POST", f"/v1/accounts/{account['id']}"),
        ("DELETE", f"/v1/accounts/{account['id']}"),
    ):
        response = await client.request(method, path, headers=stranger.auth())
        assert response.status_code == 404, (method, response.text)
        assert response.json()["error"]["param"] == "account"
    assert (await get(client, stranger, "/v1/accounts"))["data"] == []
    # A test-mode account is not the platform's live-mode account.
    live = await client.get(f"/v1/accounts/{account['id']}", headers=merchant.auth("sk_live"))
    assert live.status_code == 404
    assert (await client.get("/v1/accounts", headers=merchant.auth("sk_live"))).json()["data"] == []


async def test_an_account_reads_itself_and_bad_input_is_named(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    own = await get(client, merchant, f"/v1/accounts/{merchant.id}")
    assert own["id"] == merchant.id and own["charges_enabled"] is True
    cases = [
        ({"country": "US"}, "country"),
        ({"type": "premium"}, "type"),
        ({"email": "not-an-email"}, "email"),
        ({"business_type": "cooperative"}, "business_type"),
        ({"colour": "red"}, "colour"),
    ]
    for params, param in cases:
        response = await post(client, merchant, "/v1/accounts", **params)
        assert response.status_code == 400, (params, response.text)
        assert response.json()["error"]["param"] == param, (params, response.text)
    async with database.unit_of_work() as session:
        count = (
            await session.execute(
                text("SELECT count(*) FROM merchants WHERE platform_id IS NOT NULL")
            )
        ).scalar_one()
    assert count == 0  # nothing half-written


async def test_restricted_keys_need_the_accounts_scopes(
    client: httpx.AsyncClient, database: Database
) -> None:
    reader = await make_merchant(database, restricted_scopes=("accounts:read",))
    refused = await client.post("/v1/accounts", data={}, headers=reader.auth("rk_test"))
    assert refused.status_code == 403
    assert (await client.get("/v1/accounts", headers=reader.auth("rk_test"))).status_code == 200


async def test_a_platform_manages_its_connected_accounts_bank_accounts(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    from tests.settlement.bank_accounts.support import BANK

    account = await connected(client, merchant)
    path = f"/v1/accounts/{account['id']}/external_accounts"
    made = await client.post(path, json={"external_account": BANK}, headers=merchant.auth())
    assert made.status_code == 200, made.text
    assert made.json()["account"] == account["id"]  # the connected account's, not the platform's
    by_header = await client.get(path, headers=merchant.auth() | {"Stripe-Account": account["id"]})
    assert [item["id"] for item in by_header.json()["data"]] == [made.json()["id"]]
    own = await client.get(f"/v1/accounts/{merchant.id}/external_accounts", headers=merchant.auth())
    assert own.json()["data"] == []
    stranger = await make_merchant(database, name="Other platform")
    hidden = await client.get(path, headers=stranger.auth())
    assert hidden.status_code == 404 and hidden.json()["error"]["param"] == "account"


async def test_the_payout_schedule_is_set_on_create_and_update_and_shown_on_every_account(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    created = await post(
        client,
        merchant,
        "/v1/accounts",
        type="custom",
        **{
            "settings[payouts][schedule][interval]": "weekly",
            "settings[payouts][schedule][weekly_anchor]": "friday",
            "settings[payouts][schedule][delay_days]": "2",
        },
    )
    assert created.status_code == 200, created.text
    account = created.json()
    assert account["settings"]["payouts"]["schedule"] == {
        "interval": "weekly",
        "delay_days": 2,
        "weekly_anchor": "friday",
        "monthly_anchor": None,
    }
    updated = await post(
        client,
        merchant,
        f"/v1/accounts/{account['id']}",
        **{
            "settings[payouts][schedule][interval]": "monthly",
            "settings[payouts][schedule][monthly_anchor]": "15",
        },
    )
    assert updated.status_code == 200, updated.text
    schedule = {"interval": "monthly", "delay_days": 2, "weekly_anchor": None, "monthly_anchor": 15}
    assert updated.json()["settings"]["payouts"]["schedule"] == schedule
    assert (await get(client, merchant, f"/v1/accounts/{account['id']}"))["settings"] == {
        "payouts": {"schedule": schedule}
    }
    listed = await get(client, merchant, "/v1/accounts")
    assert listed["data"][0]["settings"]["payouts"]["schedule"] == schedule

    # The platform's own account, through the same route.
    own = await post(
        client,
        merchant,
        f"/v1/accounts/{merchant.id}",
        **{"settings[payouts][schedule][interval]": "manual"},
    )
    assert own.status_code == 200, own.text
    assert own.json()["settings"]["payouts"]["schedule"]["interval"] == "manual"
    mine = await get(client, merchant, f"/v1/accounts/{merchant.id}")
    assert mine["settings"]["payouts"]["schedule"]["interval"] == "manual"


async def test_a_bad_payout_schedule_is_refused_naming_it_and_writes_nothing(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    before = await get(client, merchant, "/v1/accounts")
    for name, value in [
        ("interval", "hourly"),
        ("delay_days", "9"),
        ("weekly_anchor", "someday"),
        ("monthly_anchor", "32"),
    ]:
        refused = await post(
            client, merchant, "/v1/accounts", **{f"settings[payouts][schedule][{name}]": value}
        )
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["param"] == f"settings[payouts][schedule][{name}]"
    assert await get(client, merchant, "/v1/accounts") == before
    account = await connected(client, merchant)
    refused = await post(
        client,
        merchant,
        f"/v1/accounts/{account['id']}",
        **{"settings[payouts][schedule][interval]": "yearly"},
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "settings[payouts][schedule][interval]"
