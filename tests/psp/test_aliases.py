"""Private aliases and beneficiaries: scopes (counterparty, merchant, one-time, time-boxed), the
lifecycle (active → rotated → revoked), and beneficiaries that keep paying the right VPA after
the alias they were saved by rotates."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.kit.crypto import KeyRing
from beyondpay.kit.errors import BeyondpayError
from beyondpay.psp.addresses.service import Payee, address_service
from tests.psp.support import PspPayer, post, sign_up
from tests.psp.test_vpas import create_vpa, event_objects, payer_with_account, resolve
from tests.support import TestMerchant

ALIASES = "/v1/psp/aliases"
BENEFICIARIES = "/v1/psp/beneficiaries"
ALIAS_TEXT = re.compile(r"^[a-z2-7]{16}@beyondpayalias$")


async def create_alias(
    client: httpx.AsyncClient, payer: PspPayer, vpa_id: str, **scope: Any
) -> dict[str, Any]:
    answer = await post(client, ALIASES, {"vpa": vpa_id, **scope}, headers=payer.headers)
    assert answer.status_code == 200, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def owner_with_vpa(
    client: httpx.AsyncClient, username: str, name: str = "Deepa Menon"
) -> tuple[PspPayer, dict[str, Any]]:
    payer, account = await payer_with_account(client, name=name)
    return payer, await create_vpa(client, payer, username, account)


def _ring(api_app: FastAPI) -> KeyRing:
    ring: KeyRing = api_app.state.key_ring
    return ring


async def _payee(database: Database, api_app: FastAPI, payer_id: str, **given: Any) -> Payee:
    async with database.unit_of_work() as session:
        return await address_service.resolve_payee(session, _ring(api_app), payer_id, **given)


async def _refusal(
    database: Database, api_app: FastAPI, payer_id: str, **given: Any
) -> BeyondpayError:
    with pytest.raises(BeyondpayError) as raised:
        await _payee(database, api_app, payer_id, **given)
    return raised.value


def _error(answer: httpx.Response) -> tuple[int, str, str | None]:
    error = answer.json()["error"]
    return answer.status_code, error["code"], error.get("param")


async def test_an_alias_stands_for_a_vpa_without_revealing_it(
    client: httpx.AsyncClient, database: Database
) -> None:
    owner, vpa = await owner_with_vpa(client, "deepa.menon")
    alias = await create_alias(client, owner, vpa["id"])
    assert alias["id"].startswith("als_")
    assert ALIAS_TEXT.match(alias["alias"]), alias["alias"]
    assert alias["masked"] == alias["alias"][:2] + "****@beyondpayalias"
    assert (alias["vpa"], alias["status"], alias["one_time"], alias["used"]) == (
        vpa["id"],
        "active",
        False,
        False,
    )
    listed = await client.get(ALIASES, headers=owner.headers)
    assert [item["alias"] for item in listed.json()["data"]] == [alias["alias"]]

    payer = await sign_up(client)
    preview = await resolve(client, payer, alias=alias["alias"])
    assert preview.status_code == 200, preview.text
    assert preview.json()["verified_name"] == "Deepa Menon"
    assert preview.json()["masked"] == alias["masked"]
    assert "deepa" not in preview.text and vpa["masked"] not in preview.text
    # An alias typed where a VPA goes (it looks like one) resolves all the same.
    typed = await resolve(client, payer, vpa=alias["alias"].upper())
    assert typed.json() == preview.json()

    ((_kind, data),) = [
        event
        for event in await event_objects(database, owner.payer_id)
        if event[0] == "psp.alias.created"
    ]
    assert "alias" not in data["object"]
    assert alias["alias"] not in str(data)


async def test_a_counterparty_alias_works_for_that_payer_alone(client: httpx.AsyncClient) -> None:
    owner, vpa = await owner_with_vpa(client, "arjun.das")
    friend, friend_account = await payer_with_account(client)
    friend_vpa = await create_vpa(client, friend, "friend.of.arjun", friend_account)
    stranger = await sign_up(client)
    by_mobile = await create_alias(client, owner, vpa["id"], counterparty=friend.mobile)
    assert by_mobile["counterparty"] == "******" + friend.mobile[-4:]
    by_vpa = await create_alias(client, owner, vpa["id"], counterparty=friend_vpa["vpa"])
    assert by_vpa["counterparty"] == friend_vpa["masked"]
    for alias in (by_mobile, by_vpa):
        assert (await resolve(client, friend, alias=alias["alias"])).status_code == 200
        refused = await resolve(client, stranger, alias=alias["alias"])
        assert _error(refused) == (403, "alias_not_permitted", "alias")
        assert (await resolve(client, owner, alias=alias["alias"])).status_code == 403

    for counterparty, expected in (
        ("9000000002", (404, "vpa_unknown", "counterparty")),
        ("nobody.at.all@beyondpay", (404, "vpa_unknown", "counterparty")),
        (owner.mobile, (400, "parameter_invalid", "counterparty")),
        ("not a vpa", (400, "vpa_invalid", "counterparty")),
    ):
        answer = await post(
            client, ALIASES, {"vpa": vpa["id"], "counterparty": counterparty}, headers=owner.headers
        )
        assert _error(answer) == expected, counterparty


async def test_a_merchant_alias_is_for_that_merchant_alone(
    client: httpx.AsyncClient, database: Database, api_app: FastAPI, merchant: TestMerchant
) -> None:
    owner, vpa = await owner_with_vpa(client, "sara.ali")
    alias = await create_alias(client, owner, vpa["id"], merchant=merchant.id)
    assert alias["merchant"] == merchant.id
    payer = await sign_up(client)
    assert _error(await resolve(client, payer, alias=alias["alias"])) == (
        403,
        "alias_not_permitted",
        "alias",
    )
    async with database.unit_of_work() as session:
        payee = await address_service.resolve_alias_for_merchant(
            session, _ring(api_app), merchant.id, SecretStr(alias["alias"])
        )
        assert (payee.kind, payee.payer_id, payee.vpa_id) == ("payer", owner.payer_id, vpa["id"])
        with pytest.raises(BeyondpayError) as refused:
            await address_service.resolve_alias_for_merchant(
                session, _ring(api_app), "acct_someoneelse", SecretStr(alias["alias"])
            )
        assert refused.value.code == "alias_not_permitted"
        await address_service.consume_alias(session, alias["id"], None, merchant_id=merchant.id)
    unknown = await post(
        client, ALIASES, {"vpa": vpa["id"], "merchant": "acct_nobody"}, headers=owner.headers
    )
    assert _error(unknown) == (404, "resource_missing", "merchant")
    both = await post(
        client,
        ALIASES,
        {"vpa": vpa["id"], "merchant": merchant.id, "counterparty": payer.mobile},
        headers=owner.headers,
    )
    assert _error(both) == (400, "parameter_invalid", "merchant")


async def test_a_one_time_alias_is_consumed_by_the_payment_through_it(
    client: httpx.AsyncClient, database: Database, api_app: FastAPI
) -> None:
    owner, vpa = await owner_with_vpa(client, "one.timer")
    alias = await create_alias(client, owner, vpa["id"], one_time=True)
    payer = await sign_up(client)
    payee = await _payee(database, api_app, payer.payer_id, alias=SecretStr(alias["alias"]))
    assert (payee.alias_id, payee.vpa_id, payee.kind) == (alias["id"], vpa["id"], "payer")
    assert payee.masked == alias["masked"]

    async with database.unit_of_work() as session:
        await address_service.consume_alias(session, alias["id"], payer.payer_id)
    refused = await resolve(client, payer, alias=alias["alias"])
    assert _error(refused) == (400, "alias_used", "alias")
    with pytest.raises(BeyondpayError) as twice:
        async with database.unit_of_work() as session:
            await address_service.consume_alias(session, alias["id"], payer.payer_id)
    assert twice.value.code == "alias_used"
    shown = (await client.get(f"{ALIASES}/{alias['id']}", headers=owner.headers)).json()
    assert (shown["used"], shown["used_at"] is not None) == (True, True)
    types = [kind for kind, _ in await event_objects(database, owner.payer_id)]
    assert types.count("psp.alias.used") == 1

    # Not one-time: every payment may use it, and each use is recorded.
    reusable = await create_alias(client, owner, vpa["id"])
    for _ in range(2):
        async with database.unit_of_work() as session:
            await address_service.consume_alias(session, reusable["id"], payer.payer_id)
    assert (await resolve(client, payer, alias=reusable["alias"])).status_code == 200


async def test_a_time_boxed_alias_expires_when_the_clock_passes_it(
    client: httpx.AsyncClient, database: Database
) -> None:
    start = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
    with use_clock(FrozenClock(start)) as clock:
        assert isinstance(clock, FrozenClock)
        owner, vpa = await owner_with_vpa(client, "time.box")
        expires_at = int((start + timedelta(minutes=5)).timestamp())
        alias = await create_alias(client, owner, vpa["id"], expires_at=expires_at)
        assert alias["expires_at"] == expires_at
        payer = await sign_up(client)
        assert (await resolve(client, payer, alias=alias["alias"])).status_code == 200
        clock.advance(timedelta(minutes=5))
        assert _error(await resolve(client, payer, alias=alias["alias"])) == (
            400,
            "alias_expired",
            "alias",
        )
        past = await post(
            client,
            ALIASES,
            {"vpa": vpa["id"], "expires_at": int(start.timestamp())},
            headers=owner.headers,
        )
        assert _error(past) == (400, "parameter_invalid", "expires_at")
        # A payment resolved before the expiry and succeeding after it still completes.
        async with database.unit_of_work() as session:
            await address_service.consume_alias(session, alias["id"], payer.payer_id)


async def test_a_beneficiary_saved_by_alias_keeps_paying_the_vpa_after_rotation(
    client: httpx.AsyncClient, database: Database, api_app: FastAPI
) -> None:
    owner, vpa = await owner_with_vpa(client, "rotating.owner", name="Leela Iyer")
    other_vpa = await create_vpa(client, owner, "rotating.other", vpa["bank_account"])
    alias = await create_alias(client, owner, vpa["id"])
    payer = await sign_up(client)
    saved = await post(
        client,
        BENEFICIARIES,
        {"alias": alias["alias"], "nickname": "Leela"},
        headers=payer.headers,
    )
    assert saved.status_code == 200, saved.text
    beneficiary = saved.json()
    assert beneficiary["id"].startswith("ben_")
    assert (beneficiary["saved_by"], beneficiary["kind"], beneficiary["verified_name"]) == (
        "alias",
        "payer",
        "Leela Iyer",
    )
    assert beneficiary["masked"] == alias["masked"]

    rotated = await post(client, f"{ALIASES}/{alias['id']}/rotate", headers=owner.headers)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert new["id"] == alias["id"] and new["alias"] != alias["alias"]
    assert ALIAS_TEXT.match(new["alias"])
    assert (new["rotations"], new["vpa"]) == (1, vpa["id"])

    # The old text no longer resolves for new use; the new one does.
    assert _error(await resolve(client, payer, alias=alias["alias"])) == (
        400,
        "alias_rotated",
        "alias",
    )
    assert (await resolve(client, payer, alias=new["alias"])).status_code == 200
    # The beneficiary kept the target, not the text: it still pays the same VPA.
    payee = await _payee(database, api_app, payer.payer_id, beneficiary=beneficiary["id"])
    assert (payee.vpa_id, payee.alias_id, payee.payer_id) == (
        vpa["id"],
        alias["id"],
        owner.payer_id,
    )
    assert payee.vpa_id != other_vpa["id"]
    assert payee.verified_name == "Leela Iyer"
    assert payee.masked == alias["masked"]

    revoked = await post(client, f"{ALIASES}/{alias['id']}/revoke", headers=owner.headers)
    assert revoked.status_code == 200, revoked.text
    assert (revoked.json()["status"], revoked.json()["revoked_at"] is not None) == ("revoked", True)
    for text in (new["alias"], alias["alias"]):
        assert _error(await resolve(client, payer, alias=text)) == (400, "alias_revoked", "alias")
    refused = await _refusal(database, api_app, payer.payer_id, beneficiary=beneficiary["id"])
    assert (refused.code, refused.param) == ("alias_revoked", "beneficiary")
    assert "revoked" in refused.message
    for action in ("rotate", "revoke"):
        again = await post(client, f"{ALIASES}/{alias['id']}/{action}", headers=owner.headers)
        assert _error(again) == (400, "alias_unexpected_state", None)
    types = [kind for kind, _ in await event_objects(database, owner.payer_id)]
    assert [kind for kind in types if kind.startswith("psp.alias")] == [
        "psp.alias.created",
        "psp.alias.rotated",
        "psp.alias.revoked",
    ]


async def test_beneficiaries_by_vpa_and_by_mobile(
    client: httpx.AsyncClient, database: Database, api_app: FastAPI
) -> None:
    payee, account = await payer_with_account(client, name="Gopal Verma")
    first = await create_vpa(client, payee, "gopal.v", account)
    second = await create_vpa(client, payee, "gopal.shop", account)
    payer = await sign_up(client)
    by_vpa = await post(
        client,
        BENEFICIARIES,
        {"vpa": "gopal.shop@beyondpay", "nickname": "Shop"},
        headers=payer.headers,
    )
    by_mobile = await post(
        client, BENEFICIARIES, {"mobile": payee.mobile, "nickname": "Gopal"}, headers=payer.headers
    )
    assert by_vpa.status_code == by_mobile.status_code == 200, (by_vpa.text, by_mobile.text)
    assert by_vpa.json()["saved_by"] == "vpa" and by_mobile.json()["saved_by"] == "mobile"
    listed = (await client.get(BENEFICIARIES, headers=payer.headers)).json()["data"]
    assert [item["nickname"] for item in listed] == ["Gopal", "Shop"]
    assert "gopal.shop" not in str(listed) and payee.mobile not in str(listed)

    # Saved by mobile number: whichever VPA is primary when paying.
    paid = await _payee(database, api_app, payer.payer_id, beneficiary=by_mobile.json()["id"])
    assert paid.vpa_id == first["id"]
    await post(client, f"/v1/psp/vpas/{second['id']}/primary", headers=payee.headers)
    paid = await _payee(database, api_app, payer.payer_id, beneficiary=by_mobile.json()["id"])
    assert paid.vpa_id == second["id"]

    deleted = await client.delete(f"{BENEFICIARIES}/{by_vpa.json()['id']}", headers=payer.headers)
    assert deleted.json() == {
        "id": by_vpa.json()["id"],
        "object": "psp_beneficiary",
        "deleted": True,
    }
    gone = await _refusal(database, api_app, payer.payer_id, beneficiary=by_vpa.json()["id"])
    assert (gone.status, gone.param) == (404, "beneficiary")
    # Someone else's beneficiary is as unknown as one that never existed.
    stranger = await sign_up(client)
    hidden = await _refusal(
        database, api_app, stranger.payer_id, beneficiary=by_mobile.json()["id"]
    )
    assert hidden.status == 404
    foreign = await client.delete(
        f"{BENEFICIARIES}/{by_mobile.json()['id']}", headers=stranger.headers
    )
    assert foreign.status_code == 404
    none = await post(client, BENEFICIARIES, {"nickname": "x"}, headers=payer.headers)
    assert _error(none) == (400, "parameter_invalid", "vpa")


async def test_another_payer_cannot_see_or_touch_my_aliases(client: httpx.AsyncClient) -> None:
    owner, vpa = await owner_with_vpa(client, "private.person")
    alias = await create_alias(client, owner, vpa["id"])
    other, other_account = await payer_with_account(client)
    for method, path in (
        ("GET", f"{ALIASES}/{alias['id']}"),
        ("POST", f"{ALIASES}/{alias['id']}/rotate"),
        ("POST", f"{ALIASES}/{alias['id']}/revoke"),
    ):
        answer = await client.request(method, path, json={}, headers=other.headers)
        assert answer.status_code == 404, (path, answer.text)
    assert (await client.get(ALIASES, headers=other.headers)).json()["data"] == []
    # An alias only for the owner's own VPAs.
    foreign = await post(client, ALIASES, {"vpa": vpa["id"]}, headers=other.headers)
    assert _error(foreign) == (404, "resource_missing", "vpa")
    await create_vpa(client, other, "other.person", other_account)
