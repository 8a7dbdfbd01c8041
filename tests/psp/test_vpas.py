"""A payer's VPAs over HTTP: create, list, primary, deactivate, relink; the payee preview by VPA
and by mobile number (the verified name is the bank's), its enumeration limit; events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.psp.addresses.domain import RESOLVES_PER_MINUTE_MAX, VPAS_PER_PAYER_MAX
from tests.psp.support import PspPayer, post, sign_up

VPAS = "/v1/psp/vpas"
RESOLVE = "/v1/psp/resolve"
CARD = {"card_expiry_month": 12, "card_expiry_year": 2030}


async def link_account(client: httpx.AsyncClient, payer: PspPayer, bank: str = "sbx1") -> str:
    """Links the payer's account at ``bank`` (the sandbox banks' debit card ends in the last 6
    digits of the mobile number); its id."""
    answer = await post(
        client,
        "/v1/psp/bank_accounts",
        {"bank": bank, "card_last6": payer.mobile[-6:], **CARD},
        headers=payer.headers,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["id"])


async def payer_with_account(
    client: httpx.AsyncClient, name: str = "Asha Rao"
) -> tuple[PspPayer, str]:
    payer = await sign_up(client, name=name)
    return payer, await link_account(client, payer)


async def create_vpa(
    client: httpx.AsyncClient, payer: PspPayer, username: str, bank_account: str
) -> dict[str, Any]:
    answer = await post(
        client, VPAS, {"username": username, "bank_account": bank_account}, headers=payer.headers
    )
    assert answer.status_code == 200, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def resolve(client: httpx.AsyncClient, payer: PspPayer, **given: str) -> httpx.Response:
    return await post(client, RESOLVE, given, headers=payer.headers)


async def event_objects(database: Database, owner_id: str) -> list[tuple[str, dict[str, Any]]]:
    async with database.unit_of_work() as session:
        found = await session.execute(
            text(
                "SELECT type, data FROM events WHERE merchant_id = :owner AND type LIKE 'psp.%'"
                " ORDER BY inserted"
            ),
            {"owner": owner_id},
        )
        return [(str(row[0]), dict(row[1])) for row in found]


async def test_a_payer_creates_vpas_and_the_first_is_primary(
    client: httpx.AsyncClient, database: Database
) -> None:
    payer, account = await payer_with_account(client)
    first = await create_vpa(client, payer, "asha.rao", account)
    assert first["id"].startswith("vpa_")
    assert first["object"] == "psp_vpa"
    assert first["vpa"] == "asha.rao@beyondpay"
    assert first["masked"] == "as****@beyondpay"
    assert (first["bank_account"], first["is_primary"], first["status"]) == (
        account,
        True,
        "active",
    )
    second = await create_vpa(client, payer, "asha-2", account)
    assert second["is_primary"] is False

    listed = await client.get(VPAS, headers=payer.headers)
    assert listed.status_code == 200
    assert [vpa["vpa"] for vpa in listed.json()["data"]] == [
        "asha-2@beyondpay",
        "asha.rao@beyondpay",
    ]
    one = await client.get(f"{VPAS}/{first['id']}", headers=payer.headers)
    assert one.json() == first

    made = await post(client, f"{VPAS}/{second['id']}/primary", headers=payer.headers)
    assert made.status_code == 200, made.text
    assert made.json()["is_primary"] is True
    again = await client.get(f"{VPAS}/{first['id']}", headers=payer.headers)
    assert again.json()["is_primary"] is False

    events = await event_objects(database, payer.payer_id)
    vpa_events = [(kind, data["object"]) for kind, data in events if kind.startswith("psp.vpa")]
    assert [kind for kind, _ in vpa_events] == [
        "psp.vpa.created",
        "psp.vpa.created",
        "psp.vpa.updated",
        "psp.vpa.updated",
    ]
    for _, shown in vpa_events:
        assert "vpa" not in shown
        assert shown["masked"].endswith("****@beyondpay")
    assert [shown["is_primary"] for _, shown in vpa_events[2:]] == [False, True]


async def test_deactivating_the_primary_promotes_the_oldest_other(
    client: httpx.AsyncClient,
) -> None:
    payer, account = await payer_with_account(client)
    first = await create_vpa(client, payer, "ravi.k", account)
    second = await create_vpa(client, payer, "ravi.k2", account)
    third = await create_vpa(client, payer, "ravi.k3", account)
    gone = await post(client, f"{VPAS}/{first['id']}/deactivate", headers=payer.headers)
    assert gone.status_code == 200, gone.text
    assert (gone.json()["status"], gone.json()["is_primary"]) == ("inactive", False)
    listed = {
        vpa["id"]: vpa for vpa in (await client.get(VPAS, headers=payer.headers)).json()["data"]
    }
    assert listed[second["id"]]["is_primary"] is True
    assert listed[third["id"]]["is_primary"] is False

    twice = await post(client, f"{VPAS}/{first['id']}/deactivate", headers=payer.headers)
    assert (twice.status_code, twice.json()["error"]["code"]) == (400, "vpa_unexpected_state")
    not_primary = await post(client, f"{VPAS}/{first['id']}/primary", headers=payer.headers)
    assert not_primary.json()["error"]["code"] == "vpa_unexpected_state"

    # A name once used is never handed to anyone else.
    other, other_account = await payer_with_account(client)
    taken = await post(
        client, VPAS, {"username": "ravi.k", "bank_account": other_account}, headers=other.headers
    )
    assert (taken.status_code, taken.json()["error"]["code"]) == (400, "vpa_username_taken")
    assert taken.json()["error"]["param"] == "username"


async def test_bad_usernames_and_accounts_are_refused_naming_the_parameter(
    client: httpx.AsyncClient,
) -> None:
    payer, account = await payer_with_account(client)
    for username, code in (
        ("ab", "vpa_username_invalid"),
        ("Asha", "vpa_username_invalid"),
        ("asha..rao", "vpa_username_invalid"),
        ("-asha", "vpa_username_invalid"),
        ("asha@beyondpay", "vpa_username_invalid"),
        ("support", "vpa_username_reserved"),
        ("beyondpay", "vpa_username_reserved"),
        ("9876543210", "vpa_username_invalid"),
    ):
        refused = await post(
            client, VPAS, {"username": username, "bank_account": account}, headers=payer.headers
        )
        assert refused.status_code == 400, (username, refused.text)
        assert refused.json()["error"]["code"] == code, username
        assert refused.json()["error"]["param"] == "username"
    _other, other_account = await payer_with_account(client)
    foreign = await post(
        client, VPAS, {"username": "asha.x", "bank_account": other_account}, headers=payer.headers
    )
    assert foreign.status_code == 404
    assert foreign.json()["error"]["param"] == "bank_account"
    assert (await client.get(VPAS, headers=payer.headers)).json()["data"] == []


async def test_a_payer_has_at_most_five_active_vpas(client: httpx.AsyncClient) -> None:
    payer, account = await payer_with_account(client)
    made = [
        await create_vpa(client, payer, f"meera{index}", account)
        for index in range(VPAS_PER_PAYER_MAX)
    ]
    refused = await post(
        client, VPAS, {"username": "meera9", "bank_account": account}, headers=payer.headers
    )
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "vpa_limit_reached")
    await post(client, f"{VPAS}/{made[0]['id']}/deactivate", headers=payer.headers)
    await create_vpa(client, payer, "meera9", account)


async def test_another_payer_sees_nothing_of_my_vpas(client: httpx.AsyncClient) -> None:
    payer, account = await payer_with_account(client)
    mine = await create_vpa(client, payer, "nila.s", account)
    other = await sign_up(client)
    for method, path in (
        ("GET", f"{VPAS}/{mine['id']}"),
        ("POST", f"{VPAS}/{mine['id']}/primary"),
        ("POST", f"{VPAS}/{mine['id']}/deactivate"),
    ):
        answer = await client.request(method, path, headers=other.headers, json={})
        assert answer.status_code == 404, (path, answer.text)
        assert "nila" not in answer.text
    assert (await client.get(VPAS, headers=other.headers)).json()["data"] == []
    unauthenticated = await client.get(VPAS)
    assert unauthenticated.status_code == 401


async def test_relinking_a_vpa_to_another_account(client: httpx.AsyncClient) -> None:
    payer, first_account = await payer_with_account(client)
    vpa = await create_vpa(client, payer, "kiran.b", first_account)
    banks = await post(client, "/v1/psp/bank_accounts/discover", headers=payer.headers)
    other_bank = next(a for a in banks.json()["data"] if a["bank"] != "sbx1")
    second_account = await link_account(client, payer, other_bank["bank"])
    moved = await post(
        client, f"{VPAS}/{vpa['id']}", {"bank_account": second_account}, headers=payer.headers
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["bank_account"] == second_account


async def test_resolving_a_vpa_or_a_mobile_number_gives_the_banks_verified_name(
    client: httpx.AsyncClient,
) -> None:
    payee, account = await payer_with_account(client, name="Farhan Qureshi")
    first = await create_vpa(client, payee, "farhan.q", account)
    await create_vpa(client, payee, "fq.shop", account)
    payer = await sign_up(client)

    by_vpa = await resolve(client, payer, vpa="fq.shop@beyondpay")
    assert by_vpa.status_code == 200, by_vpa.text
    assert by_vpa.json() == {
        "object": "psp_payee_preview",
        "kind": "payer",
        "verified_name": "Farhan Qureshi",
        "masked": "fq****@beyondpay",
        "merchant_category_code": None,
    }
    # Typed with capitals or spaces around, as payers do: UPI addresses are not case sensitive.
    assert (await resolve(client, payer, vpa=" FQ.Shop@BeyondPay ")).status_code == 200

    by_mobile = await resolve(client, payer, mobile=payee.mobile)
    assert by_mobile.status_code == 200, by_mobile.text
    assert by_mobile.json()["verified_name"] == "Farhan Qureshi"
    assert by_mobile.json()["masked"] == "fa****@beyondpay"  # the primary VPA
    assert "farhan.q" not in by_mobile.text and first["vpa"] not in by_mobile.text


async def test_resolving_what_is_not_there_is_a_clear_error(client: httpx.AsyncClient) -> None:
    payee, account = await payer_with_account(client)
    vpa = await create_vpa(client, payee, "gone.soon", account)
    await post(client, f"{VPAS}/{vpa['id']}/deactivate", headers=payee.headers)
    no_vpa_yet = await sign_up(client)
    payer = await sign_up(client)
    cases: list[tuple[dict[str, str], int, str, str]] = [
        ({"vpa": "nobody.here@beyondpay"}, 404, "vpa_unknown", "vpa"),
        ({"vpa": "success@sandbox"}, 404, "vpa_unknown", "vpa"),
        ({"vpa": "gone.soon@beyondpay"}, 400, "vpa_inactive", "vpa"),
        ({"vpa": "not a vpa"}, 400, "vpa_invalid", "vpa"),
        ({"mobile": "9000000002"}, 404, "vpa_unknown", "mobile"),
        ({"mobile": no_vpa_yet.mobile}, 404, "vpa_unknown", "mobile"),
        ({"mobile": "12345"}, 400, "mobile_invalid", "mobile"),
        ({"alias": "abcdefghijklmnop@beyondpayalias"}, 404, "vpa_unknown", "alias"),
        ({}, 400, "parameter_invalid", "vpa"),
        (
            {"vpa": "gone.soon@beyondpay", "mobile": payee.mobile},
            400,
            "parameter_invalid",
            "mobile",
        ),
    ]
    for given, status, code, param in cases:
        answer = await resolve(client, payer, **given)
        assert answer.status_code == status, (given, answer.text)
        error = answer.json()["error"]
        assert (error["code"], error["param"]) == (code, param), given
        for value in given.values():
            assert value not in error["message"]


async def test_resolving_is_limited_per_payer_per_minute(client: httpx.AsyncClient) -> None:
    with use_clock(FrozenClock(datetime(2026, 11, 22, 10, 0, 5, tzinfo=UTC))) as clock:
        payer = await sign_up(client)
        other = await sign_up(client)
        for index in range(RESOLVES_PER_MINUTE_MAX):
            answer = await resolve(client, payer, vpa=f"guess{index}@beyondpay")
            assert answer.status_code == 404
        refused = await resolve(client, payer, vpa="guess.more@beyondpay")
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "resolve_rate_limit"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        # Per payer: another payer is not held back.
        assert (await resolve(client, other, vpa="guess0@beyondpay")).status_code == 404
        assert isinstance(clock, FrozenClock)
        clock.advance(timedelta(seconds=60))
        assert (await resolve(client, payer, vpa="guess.more@beyondpay")).status_code == 404
