"""The merchant's own ledger over HTTP: accounts, batches of transfers, holds, chains, history,
lists, expansions, parameters, and the namespace that keeps merchants and modes apart."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from beyondpay.db.pagination import UNIX_S_MAX
from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.ledger.journal import verify_journal
from beyondpay.wallets.schemas import TRANSFERS_PER_REQUEST_MAX
from tests.support import TestMerchant, make_merchant

FORM = {"content-type": "application/x-www-form-urlencoded"}


async def _account(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    account_id: str,
    *,
    wallet: bool = True,
    key: str = "sk_test",
    currency: str = "inr",
) -> dict[str, Any]:
    response = await client.post(
        "/v1/ledger/accounts",
        json={
            "id": account_id,
            "currency": currency,
            "code": "wallet" if wallet else "funding",
            "debits_must_not_exceed_credits": wallet,
        },
        headers=merchant.auth(key),
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _transfers(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    *transfers: dict[str, Any],
    key: str = "sk_test",
    idempotency_key: str | None = None,
) -> httpx.Response:
    headers = merchant.auth(key)
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return await client.post(
        "/v1/ledger/transfers", json={"transfers": list(transfers)}, headers=headers
    )


async def _results(
    client: httpx.AsyncClient, merchant: TestMerchant, *transfers: dict[str, Any]
) -> list[str]:
    response = await _transfers(client, merchant, *transfers)
    assert response.status_code == 200, response.text
    return [item["result"] for item in response.json()["data"]]


def _move(transfer_id: str, debit: str, credit: str, amount: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": transfer_id,
        "debit_account": debit,
        "credit_account": credit,
        "amount": amount,
        "currency": "inr",
        "code": "top_up",
        **extra,
    }


async def _balance(client: httpx.AsyncClient, merchant: TestMerchant, account_id: str) -> Any:
    response = await client.get(f"/v1/ledger/accounts/{account_id}", headers=merchant.auth())
    assert response.status_code == 200, response.text
    return response.json()


async def _funded(client: httpx.AsyncClient, merchant: TestMerchant, amount: int) -> None:
    """Accounts ``bank`` (no limit) and ``alice`` / ``bob`` (wallets); ``alice`` holds
    ``amount``."""
    await _account(client, merchant, "bank", wallet=False)
    await _account(client, merchant, "alice")
    await _account(client, merchant, "bob")
    assert await _results(client, merchant, _move("fund", "bank", "alice", amount)) == ["ok"]


async def _verify(database: Database) -> None:
    async with database.unit_of_work() as session:
        report = await verify_journal(session)
    assert report.ok, report.problems


async def test_create_and_retrieve_account(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    created = await client.post(
        "/v1/ledger/accounts",
        content="id=user_42:wallet&currency=INR&code=wallet"
        "&debits_must_not_exceed_credits=true&metadata[owner]=asha",
        headers={**merchant.auth(), **FORM},
    )
    assert created.status_code == 200, created.text
    account = created.json()
    assert account["id"] == "user_42:wallet"
    assert account["object"] == "ledger_account"
    assert account["currency"] == "inr"
    assert account["livemode"] is False
    assert account["debits_must_not_exceed_credits"] is True
    assert account["credits_must_not_exceed_debits"] is False
    assert account["metadata"] == {"owner": "asha"}
    balances = ("debits_pending", "debits_posted", "credits_pending", "credits_posted")
    assert [account[name] for name in balances] == [0, 0, 0, 0]
    assert account["available"] == 0
    assert merchant.id not in created.text  # the ledger's internal id never shows

    fetched = await client.get("/v1/ledger/accounts/user_42:wallet", headers=merchant.auth())
    assert fetched.json() == account

    # The same id and values again is the ledger's `exists`: the account, unchanged.
    again = await _account(client, merchant, "user_42:wallet")
    assert again == account
    different = await client.post(
        "/v1/ledger/accounts",
        json={"id": "user_42:wallet", "currency": "inr", "code": "credits"},
        headers=merchant.auth(),
    )
    assert different.status_code == 400
    assert different.json()["error"]["code"] == "resource_already_exists"
    assert different.json()["error"]["param"] == "id"


async def test_transfer_and_insufficient_funds(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await _funded(client, merchant, 10_000)
    response = await _transfers(
        client,
        merchant,
        _move("pay_1", "alice", "bob", 2_500, metadata={"order": "7"}),
        _move("pay_2", "alice", "bob", 7_501),
    )
    assert response.status_code == 200, response.text
    batch = response.json()
    assert batch["object"] == "ledger_transfer_batch"
    first, second = batch["data"]
    assert first["object"] == "ledger_transfer_result"
    assert (first["id"], first["result"]) == ("pay_1", "ok")
    transfer = first["transfer"]
    assert transfer["object"] == "ledger_transfer"
    assert (transfer["id"], transfer["debit_account"], transfer["credit_account"]) == (
        "pay_1",
        "alice",
        "bob",
    )
    assert (transfer["amount"], transfer["currency"], transfer["code"]) == (2_500, "inr", "top_up")
    assert transfer["metadata"] == {"order": "7"}
    assert merchant.id not in response.text
    # The second sees the first's effect: 7,500 left, so 7,501 exceeds alice's credits.
    assert second == {
        "object": "ledger_transfer_result",
        "id": "pay_2",
        "result": "exceeds_credits",
        "transfer": None,
    }
    assert (await _balance(client, merchant, "alice"))["available"] == 7_500
    assert (await _balance(client, merchant, "bob"))["credits_posted"] == 2_500
    missing = await client.get("/v1/ledger/transfers/pay_2", headers=merchant.auth())
    assert missing.status_code == 404
    await _verify(database)


async def _hold_status(client: httpx.AsyncClient, merchant: TestMerchant, transfer: str) -> object:
    response = await client.get(f"/v1/ledger/transfers/{transfer}", headers=merchant.auth())
    assert response.status_code == 200, response.text
    return response.json()["hold_status"]


async def test_hold_posted_for_less_and_hold_voided(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    await _funded(client, merchant, 10_000)
    assert await _results(
        client,
        merchant,
        _move("hold_1", "alice", "bob", 4_000, pending=True),
        _move("hold_2", "alice", "bob", 3_000, pending=True, timeout_s=3600),
    ) == ["ok", "ok"]
    alice = await _balance(client, merchant, "alice")
    assert (alice["debits_pending"], alice["available"]) == (7_000, 3_000)
    assert await _hold_status(client, merchant, "hold_1") == "pending"

    response = await _transfers(
        client,
        merchant,
        {"id": "capture_1", "post_pending": True, "pending_id": "hold_1", "amount": 2_500},
        {"id": "release_2", "void_pending": True, "pending_id": "hold_2"},
    )
    assert [item["result"] for item in response.json()["data"]] == ["ok", "ok"]
    capture = response.json()["data"][0]["transfer"]
    assert (capture["pending_id"], capture["post_pending"], capture["amount"]) == (
        "hold_1",
        True,
        2_500,
    )
    alice = await _balance(client, merchant, "alice")
    assert (alice["debits_pending"], alice["debits_posted"], alice["available"]) == (
        0,
        2_500,
        7_500,
    )
    bob = await _balance(client, merchant, "bob")
    assert (bob["credits_pending"], bob["credits_posted"]) == (0, 2_500)
    assert capture["hold_status"] is None  # not a hold
    assert await _hold_status(client, merchant, "hold_1") == "posted"
    assert await _hold_status(client, merchant, "hold_2") == "voided"
    listed = await client.get("/v1/ledger/transfers?limit=100", headers=merchant.auth())
    statuses = {item["id"]: item["hold_status"] for item in listed.json()["data"]}
    assert (statuses["hold_1"], statuses["hold_2"], statuses["capture_1"]) == (
        "posted",
        "voided",
        None,
    )
    # A hold resolves once.
    assert await _results(
        client, merchant, {"id": "capture_again", "post_pending": True, "pending_id": "hold_2"}
    ) == ["pending_transfer_already_voided"]


async def test_hold_expires(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    clock = FrozenClock(datetime.now(UTC))
    with use_clock(clock):
        await _funded(client, merchant, 1_000)
        assert await _results(
            client, merchant, _move("hold", "alice", "bob", 600, pending=True, timeout_s=60)
        ) == ["ok"]
        assert (await _balance(client, merchant, "alice"))["available"] == 400
        clock.advance(60)
        assert (await _balance(client, merchant, "alice"))["available"] == 1_000
        assert await _results(
            client, merchant, {"id": "late", "post_pending": True, "pending_id": "hold"}
        ) == ["pending_transfer_expired"]
        assert await _hold_status(client, merchant, "hold") == "expired"


async def test_linked_chain_fails_atomically(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await _funded(client, merchant, 1_000)
    await _account(client, merchant, "carol")
    results = await _results(
        client,
        merchant,
        _move("split_a", "alice", "bob", 600, linked=True),
        _move("split_b", "alice", "carol", 600),  # 1,200 in all: more than alice holds
        _move("after", "alice", "carol", 100),
    )
    assert results == ["linked_event_failed", "exceeds_credits", "ok"]
    assert (await _balance(client, merchant, "bob"))["credits_posted"] == 0
    assert (await _balance(client, merchant, "alice"))["available"] == 900
    # A chain left open at the end of the batch is refused, and nothing of it moves.
    assert await _results(client, merchant, _move("open", "alice", "bob", 1, linked=True)) == [
        "linked_event_chain_open"
    ]
    await _verify(database)


async def test_replays_are_idempotent(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    await _funded(client, merchant, 1_000)
    first = await _transfers(
        client, merchant, _move("pay", "alice", "bob", 300), idempotency_key="order-9"
    )
    replay = await _transfers(
        client, merchant, _move("pay", "alice", "bob", 300), idempotency_key="order-9"
    )
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.content == first.content
    # Without the key, the transfer id is the idempotency key below: `exists`, nothing moves.
    again = await _transfers(client, merchant, _move("pay", "alice", "bob", 300))
    [result] = again.json()["data"]
    assert result["result"] == "exists"
    assert result["transfer"] == first.json()["data"][0]["transfer"]
    assert (await _balance(client, merchant, "alice"))["available"] == 700
    changed = await _transfers(client, merchant, _move("pay", "alice", "bob", 301))
    assert changed.json()["data"][0]["result"] == "exists_with_different_amount"
    other_body = await _transfers(
        client, merchant, _move("pay2", "alice", "bob", 300), idempotency_key="order-9"
    )
    assert other_body.status_code == 400
    assert other_body.json()["error"]["type"] == "idempotency_error"


async def test_namespace_isolation(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    other = await make_merchant(database, name="Other")
    await _funded(client, merchant, 1_000)
    await _account(client, other, "other_only")

    # Another merchant's account is a 404 identical to an id nobody has.
    theirs = await client.get("/v1/ledger/accounts/other_only", headers=merchant.auth())
    nobody = await client.get("/v1/ledger/accounts/nobody_has", headers=merchant.auth())
    assert theirs.status_code == nobody.status_code == 404
    assert theirs.json()["error"] == {
        **nobody.json()["error"],
        "message": "No such ledger_account: 'other_only'",
    }
    # ... and it cannot be named in a transfer.
    assert await _results(client, merchant, _move("steal", "other_only", "alice", 1)) == [
        "debit_account_not_found"
    ]

    # Two merchants may use the same ids without touching each other.
    await _account(client, other, "bank", wallet=False)
    await _account(client, other, "alice", currency="usd")
    await _account(client, other, "bank_usd", wallet=False, currency="usd")
    assert await _results(
        client,
        other,
        {**_move("fund", "bank_usd", "alice", 50), "currency": "usd"},
    ) == ["ok"]
    assert (await _balance(client, merchant, "alice"))["available"] == 1_000
    theirs_alice = await client.get("/v1/ledger/accounts/alice", headers=other.auth())
    assert (theirs_alice.json()["currency"], theirs_alice.json()["available"]) == ("usd", 50)
    mine = await client.get("/v1/ledger/transfers/fund", headers=merchant.auth())
    assert (mine.json()["amount"], mine.json()["currency"]) == (1_000, "inr")

    # Test keys cannot see live accounts (nor live keys test ones).
    await _account(client, merchant, "live_wallet", key="sk_live")
    hidden = await client.get("/v1/ledger/accounts/live_wallet", headers=merchant.auth("sk_test"))
    assert hidden.status_code == 404
    assert (
        await client.get("/v1/ledger/accounts/alice", headers=merchant.auth("sk_live"))
    ).status_code == 404
    listed = await client.get("/v1/ledger/accounts", headers=merchant.auth("sk_live"))
    assert [item["id"] for item in listed.json()["data"]] == ["live_wallet"]
    assert listed.json()["data"][0]["livemode"] is True
    live_transfers = await client.get("/v1/ledger/transfers", headers=merchant.auth("sk_live"))
    assert live_transfers.json()["data"] == []
    await _verify(database)


async def test_scopes_and_key_kinds(client: httpx.AsyncClient, database: Database) -> None:
    reader = await make_merchant(database, restricted_scopes=("ledger:read",))
    listed = await client.get("/v1/ledger/accounts", headers=reader.auth("rk_test"))
    assert listed.status_code == 200
    refused = await client.post(
        "/v1/ledger/accounts",
        json={"id": "w", "currency": "inr", "code": "wallet"},
        headers=reader.auth("rk_test"),
    )
    assert refused.status_code == 403
    publishable = await client.get("/v1/ledger/accounts", headers=reader.auth("pk_test"))
    assert publishable.status_code == 403
    unscoped = await make_merchant(database, restricted_scopes=("customers:read",))
    assert (
        await client.get("/v1/ledger/transfers", headers=unscoped.auth("rk_test"))
    ).status_code == 403


async def test_balance_history(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    await _funded(client, merchant, 1_000)
    assert await _results(
        client,
        merchant,
        _move("hold", "alice", "bob", 400, pending=True),
        {"id": "capture", "post_pending": True, "pending_id": "hold", "amount": 300},
        _move("pay", "alice", "bob", 100),
    ) == ["ok", "ok", "ok"]
    url = "/v1/ledger/accounts/alice/balance_history"
    page = (await client.get(url, params={"limit": 2}, headers=merchant.auth())).json()
    assert page["object"] == "list"
    assert page["url"] == url
    assert page["has_more"] is True
    assert [item["transfer"] for item in page["data"]] == ["fund", "hold"]
    assert page["data"][1]["object"] == "ledger_balance_snapshot"
    assert (page["data"][1]["debits_pending"], page["data"][1]["available"]) == (400, 600)
    rest = await client.get(
        url, params={"limit": 2, "starting_after": "hold"}, headers=merchant.auth()
    )
    assert rest.json()["has_more"] is False
    assert [
        (item["id"], item["debits_posted"], item["available"]) for item in rest.json()["data"]
    ] == [
        ("capture", 300, 700),
        ("pay", 400, 600),
    ]
    bob_history = await client.get(
        "/v1/ledger/accounts/bob/balance_history", headers=merchant.auth()
    )
    assert [item["credits_posted"] for item in bob_history.json()["data"]] == [0, 300, 400]
    # A transfer that is not the account's is no cursor of its history.
    foreign = await client.get(
        "/v1/ledger/accounts/bob/balance_history",
        params={"starting_after": "fund"},
        headers=merchant.auth(),
    )
    assert foreign.status_code == 404
    assert foreign.json()["error"]["param"] == "starting_after"
    unknown = await client.get(
        "/v1/ledger/accounts/nobody/balance_history", headers=merchant.auth()
    )
    assert unknown.status_code == 404
    refused = await client.get(url, params={"ending_before": "pay"}, headers=merchant.auth())
    assert refused.json()["error"]["param"] == "ending_before"


async def test_lists_paginate(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    await _funded(client, merchant, 1_000)
    await _account(client, merchant, "carol")
    accounts = await client.get("/v1/ledger/accounts", params={"limit": 3}, headers=merchant.auth())
    body = accounts.json()
    assert [item["id"] for item in body["data"]] == ["carol", "bob", "alice"]  # newest first
    assert body["has_more"] is True
    assert body["url"] == "/v1/ledger/accounts"
    older = await client.get(
        "/v1/ledger/accounts", params={"starting_after": "alice"}, headers=merchant.auth()
    )
    assert ([item["id"] for item in older.json()["data"]], older.json()["has_more"]) == (
        ["bank"],
        False,
    )
    newer = await client.get(
        "/v1/ledger/accounts", params={"ending_before": "bob", "limit": 5}, headers=merchant.auth()
    )
    assert [item["id"] for item in newer.json()["data"]] == ["carol"]

    for index in range(4):
        assert await _results(client, merchant, _move(f"p{index}", "alice", "bob", 10)) == ["ok"]
    assert await _results(client, merchant, _move("c", "alice", "carol", 10)) == ["ok"]
    listed = await client.get("/v1/ledger/transfers", params={"limit": 2}, headers=merchant.auth())
    assert [item["id"] for item in listed.json()["data"]] == ["c", "p3"]
    assert listed.json()["has_more"] is True
    following = await client.get(
        "/v1/ledger/transfers",
        params={"limit": 10, "starting_after": "p3"},
        headers=merchant.auth(),
    )
    assert [item["id"] for item in following.json()["data"]] == ["p2", "p1", "p0", "fund"]
    assert following.json()["has_more"] is False
    backwards = await client.get(
        "/v1/ledger/transfers", params={"limit": 2, "ending_before": "p1"}, headers=merchant.auth()
    )
    assert [item["id"] for item in backwards.json()["data"]] == ["p3", "p2"]
    assert backwards.json()["has_more"] is True

    bobs = await client.get(
        "/v1/ledger/transfers", params={"account": "bob", "limit": 3}, headers=merchant.auth()
    )
    assert [item["id"] for item in bobs.json()["data"]] == ["p3", "p2", "p1"]
    bobs_rest = await client.get(
        "/v1/ledger/transfers",
        params={"account": "bob", "starting_after": "p1"},
        headers=merchant.auth(),
    )
    assert [item["id"] for item in bobs_rest.json()["data"]] == ["p0"]
    not_bobs = await client.get(
        "/v1/ledger/transfers",
        params={"account": "bob", "starting_after": "c"},
        headers=merchant.auth(),
    )
    assert not_bobs.status_code == 404
    assert not_bobs.json()["error"]["param"] == "starting_after"
    nobody = await client.get(
        "/v1/ledger/transfers", params={"account": "nobody"}, headers=merchant.auth()
    )
    assert nobody.status_code == 404
    assert nobody.json()["error"]["param"] == "account"
    future = await client.get(
        "/v1/ledger/transfers", params={"created[gt]": 4_000_000_000}, headers=merchant.auth()
    )
    assert future.json()["data"] == []
    # The last second the API accepts (UNIX_S_MAX) is still a valid bound, never a 500.
    for path in ("/v1/ledger/transfers", "/v1/ledger/accounts"):
        for bound in ("gt", "gte", "lt", "lte"):
            extreme = await client.get(
                path, params={f"created[{bound}]": UNIX_S_MAX}, headers=merchant.auth()
            )
            assert extreme.status_code == 200, (path, bound, extreme.text)
            assert bool(extreme.json()["data"]) == (bound in ("lt", "lte"))
    history = await client.get(
        "/v1/ledger/accounts/bob/balance_history",
        params={"created[lte]": UNIX_S_MAX},
        headers=merchant.auth(),
    )
    assert len(history.json()["data"]) == 4
    early = await client.get(
        "/v1/ledger/accounts/bob/balance_history",
        params={"created[lt]": 0},
        headers=merchant.auth(),
    )
    assert early.json()["data"] == []


async def test_expand_accounts(client: httpx.AsyncClient, merchant: TestMerchant) -> None:
    await _funded(client, merchant, 1_000)
    one = await client.get(
        "/v1/ledger/transfers/fund",
        params={"expand[]": "credit_account"},
        headers=merchant.auth(),
    )
    assert one.status_code == 200, one.text
    assert one.json()["debit_account"] == "bank"
    assert one.json()["credit_account"]["object"] == "ledger_account"
    assert one.json()["credit_account"]["id"] == "alice"
    assert one.json()["credit_account"]["available"] == 1_000
    listed = await client.get(
        "/v1/ledger/transfers",
        params=[("expand[]", "data.debit_account"), ("expand[]", "data.credit_account")],
        headers=merchant.auth(),
    )
    [item] = listed.json()["data"]
    assert (item["debit_account"]["id"], item["credit_account"]["id"]) == ("bank", "alice")
    refused = await client.get(
        "/v1/ledger/transfers", params={"expand[]": "debit_account"}, headers=merchant.auth()
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "expand[0]"


async def test_bad_parameters_name_the_param(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    await _funded(client, merchant, 1_000)

    async def error(content: str, path: str = "/v1/ledger/transfers") -> dict[str, Any]:
        response = await client.post(path, content=content, headers={**merchant.auth(), **FORM})
        assert response.status_code == 400, response.text
        return response.json()["error"]

    good = "transfers[0][id]=a&transfers[0][debit_account]=alice&transfers[0][credit_account]=bob"
    good += "&transfers[0][amount]=5&transfers[0][currency]=inr&transfers[0][code]=x"
    bad_amount = await error(good + "&transfers[1][id]=b&transfers[1][amount]=abc")
    assert (bad_amount["code"], bad_amount["param"]) == (
        "parameter_invalid_integer",
        "transfers[1][amount]",
    )
    assert (await error(good + "&transfers[0][colour]=red"))["param"] == "transfers[0][colour]"
    assert (await error(good.replace("amount]=5", "amount]=0")))["param"] == "transfers[0][amount]"
    assert (await error(good.replace("[id]=a", "[id]=a.b")))["param"] == "transfers[0][id]"
    assert (await error(good.replace("currency]=inr", "currency]=xyz")))[
        "param"
    ] == "transfers[0][currency]"
    assert (await error(good + "&transfers[0][pending]=maybe"))["param"] == "transfers[0][pending]"
    assert (await error(good + "&transfers[0][timeout_s]=-1"))["param"] == "transfers[0][timeout_s]"
    assert (await error("expand[]=x"))["param"] == "transfers"
    many = "&".join(
        f"transfers[{index}][id]=t{index}" for index in range(TRANSFERS_PER_REQUEST_MAX + 1)
    )
    assert (await error(many))["param"] == "transfers"
    assert (await error("id=" + "x" * 65 + "&currency=inr&code=w", "/v1/ledger/accounts"))[
        "param"
    ] == "id"
    assert (await error("id=w&currency=inr&code=bad code", "/v1/ledger/accounts"))[
        "param"
    ] == "code"
    both = await error(
        "id=w&currency=inr&code=w&debits_must_not_exceed_credits=true"
        "&credits_must_not_exceed_debits=true",
        "/v1/ledger/accounts",
    )
    assert both["param"] == "credits_must_not_exceed_debits"
    # Rules that combine fields are the ledger's, answered per transfer.
    assert await _results(
        client, merchant, {"id": "odd", "pending": True, "void_pending": True, "pending_id": "x"}
    ) == ["flags_are_mutually_exclusive"]
    # Nothing of the refused requests moved.
    assert (await _balance(client, merchant, "alice"))["available"] == 1_000
