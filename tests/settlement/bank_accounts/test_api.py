"""Bank accounts over HTTP (Stripe's external accounts): create, retrieve, list, update,
delete; bad input named and nothing written; another merchant, another mode, restricted keys."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.settlement.bank_accounts.support import (
    BANK,
    accounts_path,
    create,
    event_types,
    made,
    rows,
)
from tests.support import TestMerchant, make_merchant


async def test_create_retrieve_list_update_delete(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    # Form-encoded with brackets, as the Stripe SDKs send it.
    form = "&".join(f"external_account[{name}]={value}" for name, value in BANK.items())
    created = await client.post(
        accounts_path(merchant),
        content=(form + "&metadata[branch]=Pune").replace(" ", "%20"),
        headers={**merchant.auth(), "content-type": "application/x-www-form-urlencoded"},
    )
    assert created.status_code == 200, created.text
    first = created.json()
    assert first["id"].startswith("ba_") and first["object"] == "bank_account"
    assert first["account"] == merchant.id
    assert first["last4"] == "6789" and first["routing_number"] == "HDFC0001234"
    assert first["bank_name"] == "HDFC BANK"
    assert first["country"] == "IN" and first["currency"] == "inr"
    assert first["status"] == "verified"  # the sandbox penny drop answered at once
    assert first["default_for_currency"] is True  # a currency's first account is its default
    assert len(first["fingerprint"]) == 16
    assert first["metadata"] == {"branch": "Pune"}
    assert "account_number" not in first

    assert (
        await client.get(f"{accounts_path(merchant)}/{first['id']}", headers=merchant.auth())
    ).json() == first

    second = await made(
        client, merchant, account_number="000987654321", routing_number="SBIN0000001"
    )
    assert second["default_for_currency"] is False and second["bank_name"] == "STATE BANK OF INDIA"
    assert second["fingerprint"] != first["fingerprint"]
    twice = await create(client, merchant)  # Stripe refuses the same account twice
    assert twice.status_code == 400, twice.text
    assert twice.json()["error"]["code"] == "bank_account_exists"
    assert twice.json()["error"]["param"] == "external_account[account_number]"

    listed = (
        await client.get(
            accounts_path(merchant), params={"object": "bank_account"}, headers=merchant.auth()
        )
    ).json()
    assert listed["object"] == "list" and listed["url"] == accounts_path(merchant)
    assert [item["id"] for item in listed["data"]] == [second["id"], first["id"]]
    cards = await client.get(
        accounts_path(merchant), params={"object": "card"}, headers=merchant.auth()
    )
    assert cards.json()["data"] == []

    updated = await client.post(
        f"{accounts_path(merchant)}/{second['id']}",
        json={
            "default_for_currency": True,
            "metadata": {"use": "payouts"},
            "account_holder_type": "company",
        },
        headers=merchant.auth(),
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["default_for_currency"] is True
    assert updated.json()["account_holder_type"] == "company"
    old_default = await client.get(
        f"{accounts_path(merchant)}/{first['id']}", headers=merchant.auth()
    )
    assert old_default.json()["default_for_currency"] is False

    refused = await client.delete(
        f"{accounts_path(merchant)}/{second['id']}", headers=merchant.auth()
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "bank_account_default_delete"
    unset = await client.post(
        f"{accounts_path(merchant)}/{second['id']}",
        json={"default_for_currency": False},
        headers=merchant.auth(),
    )
    assert unset.status_code == 400 and unset.json()["error"]["param"] == "default_for_currency"

    deleted = await client.delete(
        f"{accounts_path(merchant)}/{first['id']}", headers=merchant.auth()
    )
    assert deleted.json() == {"id": first["id"], "object": "bank_account", "deleted": True}
    gone = await client.get(f"{accounts_path(merchant)}/{first['id']}", headers=merchant.auth())
    assert gone.status_code == 404 and gone.json()["error"]["param"] == "id"
    listed = (await client.get(accounts_path(merchant), headers=merchant.auth())).json()
    assert first["id"] not in [item["id"] for item in listed["data"]]


@pytest.mark.parametrize(
    ("fields", "param", "code"),
    [
        ({"routing_number": "HDFC1234567"}, "external_account[routing_number]", "ifsc_invalid"),
        ({"routing_number": None}, "external_account[routing_number]", "parameter_missing"),
        ({"account_number": "12345"}, "external_account[account_number]", None),
        (
            {"account_number": "12345678901234567890123456789012345"},
            "external_account[account_number]",
            None,
        ),
        (
            {"account_holder_name": None},
            "external_account[account_holder_name]",
            "parameter_missing",
        ),
        ({"account_holder_name": "   "}, "external_account[account_holder_name]", None),
        ({"account_holder_type": "trust"}, "external_account[account_holder_type]", None),
        ({"country": "US"}, "external_account[country]", "country_unsupported"),
        ({"currency": "usd"}, "external_account[currency]", "currency_unsupported"),
        ({"object": "card"}, "external_account[object]", None),
        ({"unknown": "x"}, "external_account[unknown]", None),
    ],
)
async def test_bad_input_names_the_parameter_and_writes_nothing(
    client: httpx.AsyncClient,
    database: Database,
    merchant: TestMerchant,
    fields: dict[str, Any],
    param: str,
    code: str | None,
) -> None:
    response = await create(client, merchant, **fields)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param, error
    if code is not None:
        assert error["code"] == code, error
    assert await rows(database, merchant) == []
    assert await event_types(database, merchant) == []
    async with database.unit_of_work() as session:
        holds = await session.execute(
            text("SELECT count(*) FROM payout_account_holds WHERE merchant_id = :m"),
            {"m": merchant.id},
        )
        assert holds.scalar_one() == 0


async def test_an_external_account_must_be_a_hash(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    response = await client.post(
        accounts_path(merchant), json={"external_account": "btok_123"}, headers=merchant.auth()
    )
    assert response.status_code == 400
    assert response.json()["error"]["param"].startswith("external_account")


async def test_another_account_is_not_found_naming_account(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant
) -> None:
    other = await make_merchant(database, name="Other")
    mine = await made(client, merchant)
    # The same bank account, another merchant: its own object, the same fingerprint.
    theirs_too = await made(client, other)
    assert theirs_too["id"] != mine["id"] and theirs_too["fingerprint"] == mine["fingerprint"]
    for method, path in (
        ("GET", accounts_path(merchant)),
        ("GET", f"{accounts_path(merchant)}/{mine['id']}"),
        ("DELETE", f"{accounts_path(merchant)}/{mine['id']}"),
    ):
        response = await client.request(method, path, headers=other.auth())
        assert response.status_code == 404, response.text
        assert response.json()["error"]["param"] == "account"
    posted = await create(client, merchant, headers=other.auth())
    assert posted.status_code == 404 and posted.json()["error"]["param"] == "account"
    # Under its own account, the other merchant does not find this one's bank account either.
    theirs = await client.get(f"{accounts_path(other)}/{mine['id']}", headers=other.auth())
    assert theirs.status_code == 404 and theirs.json()["error"]["param"] == "id"
    listed = (await client.get(accounts_path(other), headers=other.auth())).json()["data"]
    assert [item["id"] for item in listed] == [theirs_too["id"]]


async def test_modes_are_apart(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    test_account = await made(client, merchant)
    live = await client.get(
        f"{accounts_path(merchant)}/{test_account['id']}", headers=merchant.auth("sk_live")
    )
    assert live.status_code == 404
    listed = await client.get(accounts_path(merchant), headers=merchant.auth("sk_live"))
    assert listed.json()["data"] == []
    # Live mode has no bank connected yet: a live account is made, and stays new.
    live_made = await create(client, merchant, key="sk_live")
    assert live_made.status_code == 200, live_made.text
    assert live_made.json()["status"] == "new" and live_made.json()["default_for_currency"] is True


async def test_restricted_keys_need_the_external_accounts_scopes(
    client: httpx.AsyncClient, database: Database
) -> None:
    reader = await make_merchant(
        database, name="Reader", restricted_scopes=("external_accounts:read",)
    )
    refused = await create(client, reader, key="rk_test")
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "permission_error"
    assert (
        await client.get(accounts_path(reader), headers=reader.auth("rk_test"))
    ).status_code == 200
    writer = await make_merchant(
        database, name="Writer", restricted_scopes=("external_accounts:write",)
    )
    assert (await create(client, writer, key="rk_test")).status_code == 200
    other = await make_merchant(database, name="Customers", restricted_scopes=("customers:read",))
    assert (
        await client.get(accounts_path(other), headers=other.auth("rk_test"))
    ).status_code == 403


async def test_a_new_holder_name_is_matched_against_the_banks(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    account = await made(client, merchant)
    path = f"{accounts_path(merchant)}/{account['id']}"
    changed = await client.post(
        path, json={"account_holder_name": "Someone Else"}, headers=merchant.auth()
    )
    assert changed.json()["status"] == "verification_failed"
    back = await client.post(
        path, json={"account_holder_name": "RAO, Asha"}, headers=merchant.auth()
    )
    assert back.json()["status"] == "verified"
    blank = await client.post(path, json={"account_holder_name": " "}, headers=merchant.auth())
    assert blank.status_code == 400 and blank.json()["error"]["param"] == "account_holder_name"


async def test_every_change_is_audited_and_announced(
    client: httpx.AsyncClient, database: Database, merchant: TestMerchant
) -> None:
    first = await made(client, merchant)
    second = await made(client, merchant, account_number="000987654321")
    await client.post(
        f"{accounts_path(merchant)}/{second['id']}",
        json={"default_for_currency": True},
        headers=merchant.auth(),
    )
    await client.delete(f"{accounts_path(merchant)}/{first['id']}", headers=merchant.auth())
    async with database.unit_of_work() as session:
        audited = await session.execute(
            text(
                "SELECT method, route, status FROM audit_events WHERE merchant_id = :m"
                " ORDER BY created_at, id"
            ),
            {"m": merchant.id},
        )
        trail = [tuple(row) for row in audited]
    assert trail == [
        ("POST", "/v1/accounts/{account}/external_accounts", 200),
        ("POST", "/v1/accounts/{account}/external_accounts", 200),
        ("POST", "/v1/accounts/{account}/external_accounts/{id}", 200),
        ("DELETE", "/v1/accounts/{account}/external_accounts/{id}", 200),
    ]
    assert await event_types(database, merchant) == [
        "account.external_account.created",
        "account.external_account.updated",  # the first verified
        "account.external_account.created",
        "account.external_account.updated",  # the second verified
        "account.external_account.updated",  # the first no longer the default
        "account.external_account.updated",  # the second the default
        "account.external_account.deleted",
    ]
