"""Transfers from a platform to its connected accounts, and their reversals: balances on both
sides equal to their balance transactions, the platform never overdrawn, reversals never
past the transfer."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.connect.support import (
    NET_OF_ONE_PAYMENT,
    available,
    connected,
    fund,
    nets_match_balance,
    transfer,
)
from tests.payments.support import get, post
from tests.support import TestMerchant, make_merchant


async def _event_types(database: Database, merchant_id: str) -> list[str]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text(
                "SELECT type FROM events WHERE merchant_id = :id AND type LIKE 'transfer.%'"
                " ORDER BY created_at, id"
            ),
            {"id": merchant_id},
        )
        return list(rows.scalars())


async def test_a_transfer_moves_available_funds_and_reversals_bring_them_back(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    assert await fund(client, merchant, database) == NET_OF_ONE_PAYMENT
    account = await connected(client, merchant)
    sent = await transfer(
        client, merchant, account["id"], 6_000, transfer_group="order-1", **{"metadata[o]": "1"}
    )
    assert sent.status_code == 200, sent.text
    made = sent.json()
    assert made["id"].startswith("tr_") and made["object"] == "transfer"
    assert made["destination"] == account["id"] and made["amount"] == 6_000
    assert made["destination_payment"].startswith("py_")
    assert made["reversed"] is False and made["reversals"]["total_count"] == 0
    assert await available(client, merchant) == NET_OF_ONE_PAYMENT - 6_000
    assert await available(client, merchant, account["id"]) == 6_000
    platform_txn = await get(
        client, merchant, f"/v1/balance_transactions/{made['balance_transaction']}"
    )
    assert platform_txn["type"] == "transfer" and platform_txn["amount"] == -6_000
    assert platform_txn["source"] == made["id"]

    partial = await post(client, merchant, f"/v1/transfers/{made['id']}/reversals", amount="2500")
    assert partial.status_code == 200, partial.text
    assert partial.json()["object"] == "transfer_reversal" and partial.json()["amount"] == 2_500
    too_much = await post(client, merchant, f"/v1/transfers/{made['id']}/reversals", amount="3501")
    assert too_much.status_code == 400 and too_much.json()["error"]["param"] == "amount"
    rest = await post(client, merchant, f"/v1/transfers/{made['id']}/reversals")
    assert rest.status_code == 200 and rest.json()["amount"] == 3_500
    again = await post(client, merchant, f"/v1/transfers/{made['id']}/reversals")
    assert again.status_code == 400 and again.json()["error"]["param"] == "amount"

    found = await get(client, merchant, f"/v1/transfers/{made['id']}")
    assert found["amount_reversed"] == 6_000 and found["reversed"] is True
    assert [item["amount"] for item in found["reversals"]["data"]] == [3_500, 2_500]
    listed = await get(client, merchant, f"/v1/transfers/{made['id']}/reversals")
    assert [item["id"] for item in listed["data"]] == [rest.json()["id"], partial.json()["id"]]
    assert await available(client, merchant) == NET_OF_ONE_PAYMENT
    assert await available(client, merchant, account["id"]) == 0
    for who in (None, account["id"]):
        ledger, nets = await nets_match_balance(client, merchant, who)
        assert ledger == nets, who
    assert await _event_types(database, merchant.id) == [
        "transfer.created",
        "transfer.reversed",
        "transfer.reversed",
    ]


async def test_more_than_the_available_balance_is_refused(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await fund(client, merchant, database)
    account = await connected(client, merchant)
    refused = await transfer(client, merchant, account["id"], NET_OF_ONE_PAYMENT + 1)
    assert refused.status_code == 400, refused.text
    assert refused.json()["error"]["code"] == "balance_insufficient"
    assert refused.json()["error"]["param"] == "amount"
    async with database.unit_of_work() as session:
        count = (await session.execute(text("SELECT count(*) FROM connect_transfers"))).scalar_one()
    assert count == 0


async def test_two_transfers_racing_for_one_balance_never_overdraw_it(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await fund(client, merchant, database)
    first, second = await connected(client, merchant), await connected(client, merchant)
    amount = NET_OF_ONE_PAYMENT * 2 // 3  # either fits, both do not
    responses = await asyncio.gather(
        transfer(client, merchant, first["id"], amount),
        transfer(client, merchant, second["id"], amount),
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 400], [response.text for response in responses]
    assert await available(client, merchant) == NET_OF_ONE_PAYMENT - amount
    ledger, nets = await nets_match_balance(client, merchant)
    assert ledger == nets


async def test_bad_destinations_and_input_are_named(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await fund(client, merchant, database)
    account = await connected(client, merchant)
    stranger = await make_merchant(database, name="Other platform")
    cases = [
        ({"destination": stranger.id}, "destination"),
        ({"destination": "acct_nope"}, "destination"),
        ({"amount": "0"}, "amount"),
        ({"currency": "xyz"}, "currency"),
        ({"source_transaction": "ch_nope"}, "source_transaction"),
    ]
    for override, param in cases:
        body = {"amount": "100", "currency": "inr", "destination": account["id"], **override}
        response = await post(client, merchant, "/v1/transfers", **body)
        assert response.status_code in (400, 404), (override, response.text)
        assert response.json()["error"]["param"] == param, (override, response.text)
    # Transfers are the platform's own: not while acting as a connected account.
    acting = merchant.auth() | {"Stripe-Account": account["id"]}
    refused = await client.post(
        "/v1/transfers",
        data={"amount": "100", "currency": "inr", "destination": account["id"]},
        headers=acting,
    )
    assert refused.status_code == 403


async def test_update_list_filters_and_another_platform(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await fund(client, merchant, database)
    first, second = await connected(client, merchant), await connected(client, merchant)
    one = (await transfer(client, merchant, first["id"], 100, transfer_group="g1")).json()
    two = (await transfer(client, merchant, second["id"], 200)).json()
    updated = await post(client, merchant, f"/v1/transfers/{one['id']}", description="Payout share")
    assert updated.status_code == 200 and updated.json()["description"] == "Payout share"
    by_destination = await get(client, merchant, "/v1/transfers", destination=second["id"])
    assert [item["id"] for item in by_destination["data"]] == [two["id"]]
    by_group = await get(client, merchant, "/v1/transfers", transfer_group="g1")
    assert [item["id"] for item in by_group["data"]] == [one["id"]]
    assert [item["id"] for item in (await get(client, merchant, "/v1/transfers"))["data"]] == [
        two["id"],
        one["id"],
    ]
    stranger = await make_merchant(database, name="Other platform")
    hidden = await client.get(f"/v1/transfers/{one['id']}", headers=stranger.auth())
    assert hidden.status_code == 404
    reversal = await client.post(
        f"/v1/transfers/{one['id']}/reversals", data={}, headers=stranger.auth()
    )
    assert reversal.status_code == 404
    assert "transfer.updated" in await _event_types(database, merchant.id)
