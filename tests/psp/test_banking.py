"""Bank accounts end to end over HTTP: discovery by mobile number, linking with the debit card,
the primary account, unlinking."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.psp.banking.domain import CARD_LOCK_S, CARD_TRIES_MAX
from tests.psp.support import PspPayer, log_in, post, random_mobile, sign_up

DISCOVER = "/v1/psp/bank_accounts/discover"
ACCOUNTS = "/v1/psp/bank_accounts"
# The sandbox banks' debit cards expire 12/2030 and end in the mobile number's last 6 digits.
CARD_EXPIRY = {"card_expiry_month": 12, "card_expiry_year": 2030}


def card(payer: PspPayer) -> dict[str, Any]:
    return {"card_last6": payer.mobile[-6:], **CARD_EXPIRY}


def wrong_card(payer: PspPayer) -> dict[str, Any]:
    last6 = payer.mobile[-6:]
    wrong = last6[:-1] + str((int(last6[-1]) + 1) % 10)
    return {"card_last6": wrong, **CARD_EXPIRY}


async def discover(client: httpx.AsyncClient, payer: PspPayer) -> list[dict[str, Any]]:
    answer = await post(client, DISCOVER, headers=payer.headers)
    assert answer.status_code == 200, answer.text
    data: list[dict[str, Any]] = answer.json()["data"]
    return data


async def link(
    client: httpx.AsyncClient, payer: PspPayer, bank: str = "sbx1", **extra: Any
) -> dict[str, Any]:
    answer = await post(
        client, ACCOUNTS, {"bank": bank, **card(payer), **extra}, headers=payer.headers
    )
    assert answer.status_code == 200, answer.text
    linked: dict[str, Any] = answer.json()
    return linked


async def _event_types(database: Database, payer_id: str) -> list[str]:
    async with database.unit_of_work() as session:
        found = await session.execute(
            text("SELECT type FROM events WHERE merchant_id = :payer ORDER BY created_at, id"),
            {"payer": payer_id},
        )
        return [str(row[0]) for row in found]


async def test_discovery_shows_the_accounts_the_banks_hold_for_the_mobile_number(
    client: httpx.AsyncClient,
) -> None:
    payer = await sign_up(client, name="Asha  Rao")
    found = await discover(client, payer)
    assert [account["bank"] for account in found] == ["sbx1", "sbx2"]
    for account, (name, ifsc) in zip(
        found,
        [("Sandbox Bank A", "SBXA0000001"), ("Sandbox Bank B", "SBXB0000001")],
        strict=True,
    ):
        assert account["object"] == "psp_discovered_bank_account"
        assert (account["bank_name"], account["ifsc"]) == (name, ifsc)
        assert re.fullmatch(r"X{8}\d{4}", account["account_number_masked"])
        assert account["account_type"] == "savings"
        assert account["holder_name"] == "Asha Rao"  # as the bank verified it
        assert account["linked"] is False
        assert account["upi_pin"] == "not_set"
        assert set(account) >= {"bank", "ifsc", "holder_name"}
        assert "account_ref" not in account
    # Nothing is linked by discovering, and discovering again finds the same accounts.
    listed = await client.get(ACCOUNTS, headers=payer.headers)
    assert listed.status_code == 200
    assert listed.json() == {"object": "list", "url": ACCOUNTS, "has_more": False, "data": []}
    assert await discover(client, payer) == found


async def test_discovery_follows_the_sandbox_rules_of_the_mobile_number(
    client: httpx.AsyncClient,
) -> None:
    odd = await sign_up(client, mobile=random_mobile()[:-1] + "3")
    assert [account["bank"] for account in await discover(client, odd)] == ["sbx1"]
    none = await sign_up(client, mobile="98765" + "10000")
    assert await discover(client, none) == []
    refused = await post(client, ACCOUNTS, {"bank": "sbx1", **card(none)}, headers=none.headers)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "bank_unknown"
    assert refused.json()["error"]["param"] == "bank"


async def test_a_wrong_card_is_refused_the_right_one_links_and_the_first_is_primary(
    client: httpx.AsyncClient, database: Database
) -> None:
    payer = await sign_up(client)
    found = await discover(client, payer)
    refused = await post(
        client, ACCOUNTS, {"bank": "sbx1", **wrong_card(payer)}, headers=payer.headers
    )
    assert refused.status_code == 402, refused.text
    error = refused.json()["error"]
    assert (error["code"], error["param"]) == ("card_verification_failed", "card_last6")
    assert "2 tries left" in error["message"]
    late = await post(
        client,
        ACCOUNTS,
        {"bank": "sbx1", **card(payer), "card_expiry_year": 2031},
        headers=payer.headers,
    )
    assert late.status_code == 402
    assert (await client.get(ACCOUNTS, headers=payer.headers)).json()["data"] == []

    first = await link(client, payer, "sbx1")
    assert first["id"].startswith("pba_")
    assert first["object"] == "psp_bank_account"
    assert first["is_primary"] is True
    assert first["status"] == "active"
    assert first["upi_pin"] == "not_set"
    assert first["account_number_masked"] == found[0]["account_number_masked"]
    assert (first["bank_name"], first["ifsc"], first["holder_name"]) == (
        "Sandbox Bank A",
        "SBXA0000001",
        "Asha Rao",
    )
    second = await link(
        client, payer, "sbx2", account_number_masked=found[1]["account_number_masked"]
    )
    assert second["is_primary"] is False

    listed = (await client.get(ACCOUNTS, headers=payer.headers)).json()["data"]
    assert [account["id"] for account in listed] == [first["id"], second["id"]]
    retrieved = await client.get(f"{ACCOUNTS}/{first['id']}", headers=payer.headers)
    assert retrieved.json() == first
    assert [account["linked"] for account in await discover(client, payer)] == [True, True]
    assert await _event_types(database, payer.payer_id) == [
        "psp.payer.created",
        "psp.session.created",
        "psp.bank_account.linked",
        "psp.bank_account.linked",
    ]


async def test_linking_refuses_a_full_account_number_a_twice_linked_account_and_bad_input(
    client: httpx.AsyncClient,
) -> None:
    payer = await sign_up(client)
    await discover(client, payer)
    await link(client, payer, "sbx1")

    async def refused(data: dict[str, Any]) -> dict[str, Any]:
        answer = await post(client, ACCOUNTS, data, headers=payer.headers)
        assert answer.status_code == 400, answer.text
        error: dict[str, Any] = answer.json()["error"]
        return error

    full = await refused({"bank": "sbx2", "account_number": "123456789012", **card(payer)})
    assert (full["code"], full["param"]) == ("parameter_unknown", "account_number")
    again = await refused({"bank": "sbx1", **card(payer)})
    assert again["code"] == "bank_account_already_linked"
    other = await refused({"bank": "sbx2", "account_number_masked": "XXXXXXXX0000", **card(payer)})
    if other["code"] != "bank_account_not_found":  # the one-in-10,000 chance it is the account
        assert other["code"] == "bank_account_already_linked"
    assert (await refused({"bank": "sbx2", **card(payer), "card_last6": "12345"}))[
        "param"
    ] == "card_last6"
    assert (await refused({"bank": "sbx2", **card(payer), "card_expiry_month": 13}))[
        "param"
    ] == "card_expiry_month"
    assert (await refused({"bank": "sbx2", **card(payer), "card_expiry_year": 2020}))[
        "param"
    ] == "card_expiry_year"
    missing = await refused({"bank": "sbx2", "card_last6": payer.mobile[-6:]})
    assert missing["code"] == "parameter_missing"
    # None of these counted as a wrong card: the right one still links at once.
    assert (await link(client, payer, "sbx2"))["bank"] == "sbx2"


async def test_wrong_cards_lock_a_banks_card_checks_for_a_day(
    client: httpx.AsyncClient,
) -> None:
    clock = FrozenClock(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))
    with use_clock(clock):
        payer = await sign_up(client)
        await discover(client, payer)
        codes = []
        for _ in range(CARD_TRIES_MAX):
            answer = await post(
                client, ACCOUNTS, {"bank": "sbx1", **wrong_card(payer)}, headers=payer.headers
            )
            codes.append(answer.json()["error"]["code"])
        assert codes == ["card_verification_failed"] * (CARD_TRIES_MAX - 1) + [
            "card_tries_exceeded"
        ]
        locked = await post(
            client, ACCOUNTS, {"bank": "sbx1", **card(payer)}, headers=payer.headers
        )
        assert locked.status_code == 402
        assert locked.json()["error"]["code"] == "card_tries_exceeded"
        # Counted per bank: the other bank's card still works.
        assert (await link(client, payer, "sbx2"))["is_primary"] is True

        clock.advance(timedelta(seconds=CARD_LOCK_S))
        payer.take_session(await log_in(client, payer))
        assert (await link(client, payer, "sbx1"))["is_primary"] is False


async def test_the_primary_account_moves_and_unlinking_it_promotes_the_oldest_other(
    client: httpx.AsyncClient, database: Database
) -> None:
    payer = await sign_up(client)
    await discover(client, payer)
    first = await link(client, payer, "sbx1")
    second = await link(client, payer, "sbx2")

    moved = await post(client, f"{ACCOUNTS}/{second['id']}/primary", headers=payer.headers)
    assert moved.status_code == 200, moved.text
    assert moved.json()["is_primary"] is True
    listed = (await client.get(ACCOUNTS, headers=payer.headers)).json()["data"]
    assert [account["is_primary"] for account in listed] == [False, True]
    again = await post(client, f"{ACCOUNTS}/{second['id']}/primary", headers=payer.headers)
    assert again.json()["is_primary"] is True

    unlinked = await client.delete(f"{ACCOUNTS}/{second['id']}", headers=payer.headers)
    assert unlinked.status_code == 200, unlinked.text
    assert (unlinked.json()["status"], unlinked.json()["is_primary"]) == ("unlinked", False)
    listed = (await client.get(ACCOUNTS, headers=payer.headers)).json()["data"]
    assert [(account["id"], account["is_primary"]) for account in listed] == [(first["id"], True)]
    gone = await client.get(f"{ACCOUNTS}/{second['id']}", headers=payer.headers)
    assert gone.status_code == 404
    assert (gone.json()["error"]["code"], gone.json()["error"]["param"]) == (
        "resource_missing",
        "bank_account",
    )
    assert (
        await client.delete(f"{ACCOUNTS}/{second['id']}", headers=payer.headers)
    ).status_code == 404
    # Relinked, the account is a new link (and not primary: the other one is).
    relinked = await link(client, payer, "sbx2")
    assert relinked["id"] != second["id"]
    assert relinked["is_primary"] is False

    types = await _event_types(database, payer.payer_id)
    assert types[2:] == [
        "psp.bank_account.linked",
        "psp.bank_account.linked",
        "psp.bank_account.updated",  # first: no longer primary
        "psp.bank_account.updated",  # second: primary
        "psp.bank_account.unlinked",
        "psp.bank_account.updated",  # first: primary again
        "psp.bank_account.linked",
    ]


async def test_a_payer_sees_only_their_own_accounts(client: httpx.AsyncClient) -> None:
    owner = await sign_up(client)
    other = await sign_up(client)
    await discover(client, owner)
    account = await link(client, owner)
    for answer in (
        await client.get(f"{ACCOUNTS}/{account['id']}", headers=other.headers),
        await client.delete(f"{ACCOUNTS}/{account['id']}", headers=other.headers),
        await post(client, f"{ACCOUNTS}/{account['id']}/primary", headers=other.headers),
    ):
        assert answer.status_code == 404, answer.text
    assert (await client.get(ACCOUNTS, headers=other.headers)).json()["data"] == []


async def test_the_routes_need_a_payers_session(client: httpx.AsyncClient) -> None:
    for answer in (
        await client.get(ACCOUNTS),
        await client.post(DISCOVER),
        await client.post(ACCOUNTS, json={"bank": "sbx1"}),
        await client.get(ACCOUNTS, headers={"Authorization": "Bearer pst_nope"}),
    ):
        assert answer.status_code == 401, answer.text


async def test_a_frozen_payer_can_look_but_change_nothing(client: httpx.AsyncClient) -> None:
    payer = await sign_up(client)
    await discover(client, payer)
    account = await link(client, payer, "sbx1")
    frozen = await post(client, "/v1/psp/freeze", headers=payer.headers)
    assert frozen.status_code == 200, frozen.text
    path = f"{ACCOUNTS}/{account['id']}"
    for answer in (
        await post(client, DISCOVER, headers=payer.headers),
        await post(client, ACCOUNTS, {"bank": "sbx2", **card(payer)}, headers=payer.headers),
        await post(client, f"{path}/pin", {"pin": "583917", **card(payer)}, headers=payer.headers),
        await post(client, f"{path}/balance", {"pin": "583917"}, headers=payer.headers),
        await post(client, f"{path}/primary", headers=payer.headers),
        await client.delete(path, headers=payer.headers),
    ):
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "payer_frozen"
    assert (await client.get(path, headers=payer.headers)).json()["status"] == "active"
