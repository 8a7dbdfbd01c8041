"""Payouts over HTTP: a manual payout paid by IMPS, its money leaving the balance once; read,
updated, listed with filters; another merchant's 404; restricted keys; bad input named and
nothing written (over the balance, an automatic schedule, an unverified destination); each
failure magic value returning the money; the cooling hold and cancel; reverse."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from beyondpay.db.session import Database
from tests.payments.support import get
from tests.settlement.payouts.support import (
    AVAILABLE,
    bank_account,
    consistent,
    create,
    created,
    fund,
    payout_events,
    ready,
)
from tests.support import TestMerchant, make_merchant


async def test_a_manual_payout_is_paid_and_leaves_the_balance_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    account = await ready(client, merchant, database)
    payout = await created(
        client, merchant, amount="5000", description="Weekly", **{"metadata[run]": "1"}
    )
    assert payout["object"] == "payout" and payout["id"].startswith("po_")
    assert payout["status"] == "paid" and payout["rail"] == "imps"
    assert payout["destination"] == account["id"] and payout["automatic"] is False
    assert payout["method"] == "standard" and payout["type"] == "bank_account"
    assert payout["trace_id"]["status"] == "supported"
    assert len(payout["trace_id"]["value"]) == 12  # an IMPS RRN
    assert payout["metadata"] == {"run": "1"} and payout["description"] == "Weekly"
    transaction = await get(
        client, merchant, f"/v1/balance_transactions/{payout['balance_transaction']}"
    )
    assert transaction["type"] == "payout" and transaction["net"] == -5_000
    assert await consistent(client, merchant, database) == AVAILABLE - 5_000
    assert await payout_events(database, payout["id"]) == [
        "payout.created",
        "payout.updated",
        "payout.paid",
    ]

    fetched = await get(client, merchant, f"/v1/payouts/{payout['id']}")
    assert fetched == payout
    updated = await client.post(
        f"/v1/payouts/{payout['id']}",
        data={"metadata[run]": "2", "description": "Changed"},
        headers=merchant.auth(),
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["metadata"] == {"run": "2"}
    assert updated.json()["description"] == "Changed"
    assert (await get(client, merchant, "/v1/payouts", status="paid"))["data"][0]["id"] == (
        payout["id"]
    )
    assert (await get(client, merchant, "/v1/payouts", status="failed"))["data"] == []
    by_destination = await get(client, merchant, "/v1/payouts", destination=account["id"])
    assert [item["id"] for item in by_destination["data"]] == [payout["id"]]
    arrived = await get(
        client, merchant, "/v1/payouts", **{"arrival_date[gte]": str(payout["arrival_date"])}
    )
    assert len(arrived["data"]) == 1

    other = await make_merchant(database, name="Other")
    missing = await client.get(f"/v1/payouts/{payout['id']}", headers=other.auth())
    assert missing.status_code == 404
    live = await client.get(f"/v1/payouts/{payout['id']}", headers=merchant.auth("sk_live"))
    assert live.status_code == 404


async def test_restricted_keys_need_the_payouts_scopes(
    client: httpx.AsyncClient, database: Database
) -> None:
    reader = await make_merchant(database, name="Reader", restricted_scopes=("payouts:read",))
    writer = await make_merchant(database, name="Writer", restricted_scopes=("payouts:write",))
    assert (await client.get("/v1/payouts", headers=reader.auth("rk_test"))).status_code == 200
    refused = await create(client, reader, key="rk_test")
    assert refused.status_code == 403
    # A write key gets through to the use case: the automatic schedule is what refuses it.
    await fund(client, writer, database)
    answer = await create(client, writer, key="rk_test")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "payouts_not_allowed"


async def test_an_automatic_schedule_refuses_manual_payouts(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await fund(client, merchant, database)
    await bank_account(client, merchant, database)
    response = await create(client, merchant)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "payouts_not_allowed"
    assert "interval" in response.json()["error"]["message"]
    assert await consistent(client, merchant, database) == AVAILABLE


@pytest.mark.parametrize(
    ("params", "code", "param"),
    [
        ({"amount": str(AVAILABLE + 1)}, "balance_insufficient", "amount"),
        ({"currency": "usd"}, "parameter_invalid", "currency"),
        ({"destination": "ba_nothing"}, "bank_account_unusable", "destination"),
        ({"rail": "rtgs"}, "payout_rail_unusable", "amount"),
        ({"rail": "upi"}, "payout_rail_unusable", "method"),
        ({"method": "instant", "rail": "neft"}, "payout_rail_unusable", "method"),
        ({"amount": "0"}, None, "amount"),
        ({"surprise": "1"}, None, "surprise"),
    ],
)
async def test_bad_input_is_named_and_nothing_is_written(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    database: Database,
    params: dict[str, str],
    code: str | None,
    param: str,
) -> None:
    await ready(client, merchant, database)
    response = await create(client, merchant, **params)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param, error
    if code is not None:
        assert error["code"] == code, error
    assert (await get(client, merchant, "/v1/payouts"))["data"] == []
    assert await consistent(client, merchant, database) == AVAILABLE


async def test_an_unverified_destination_is_refused(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await ready(client, merchant, database)
    other_name = await bank_account(client, merchant, database, account_number="000222222227")
    assert other_name["status"] == "verification_failed"
    response = await create(client, merchant, destination=other_name["id"])
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "destination"
    assert response.json()["error"]["code"] == "bank_account_unusable"


@pytest.mark.parametrize(
    ("fields", "failure_code"),
    [
        ({"routing_number": "HDFC0000404"}, "invalid_account_number"),
        ({"routing_number": "HDFC0000403"}, "bank_account_restricted"),
    ],
)
async def test_a_failed_payout_returns_the_money(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    database: Database,
    fields: dict[str, Any],
    failure_code: str,
) -> None:
    await ready(client, merchant, database, **fields)
    payout = await created(client, merchant, amount="4000")
    assert payout["status"] == "failed" and payout["failure_code"] == failure_code
    assert payout["failure_message"]
    returned = await get(
        client, merchant, f"/v1/balance_transactions/{payout['failure_balance_transaction']}"
    )
    assert returned["type"] == "payout_failure" and returned["net"] == 4_000
    assert await consistent(client, merchant, database) == AVAILABLE
    assert await payout_events(database, payout["id"]) == [
        "payout.created",
        "payout.updated",
        "payout.failed",
    ]


async def test_a_payout_in_the_cooling_hold_waits_and_can_be_canceled(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await ready(client, merchant, database)
    await bank_account(
        client,
        merchant,
        database,
        hold=True,
        account_number="000987654321",
        default_for_currency="true",
    )
    payout = await created(client, merchant, amount="3000")
    assert payout["status"] == "pending" and payout["trace_id"]["status"] == "pending"
    assert await consistent(client, merchant, database) == AVAILABLE - 3_000

    canceled = await client.post(f"/v1/payouts/{payout['id']}/cancel", headers=merchant.auth())
    assert canceled.status_code == 200, canceled.text
    body = canceled.json()
    assert body["status"] == "canceled"
    back = await get(
        client, merchant, f"/v1/balance_transactions/{body['failure_balance_transaction']}"
    )
    assert back["type"] == "payout_cancel" and back["net"] == 3_000
    assert await consistent(client, merchant, database) == AVAILABLE
    again = await client.post(f"/v1/payouts/{payout['id']}/cancel", headers=merchant.auth())
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "payout_unexpected_state"
    assert await payout_events(database, payout["id"]) == [
        "payout.created",
        "payout.updated",
        "payout.canceled",
    ]


async def test_a_paid_payout_cannot_be_canceled_and_can_be_reversed_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    await ready(client, merchant, database)
    payout = await created(client, merchant, amount="2500")
    refused = await client.post(f"/v1/payouts/{payout['id']}/cancel", headers=merchant.auth())
    assert refused.status_code == 400
    assert await consistent(client, merchant, database) == AVAILABLE - 2_500

    reversed_ = await client.post(
        f"/v1/payouts/{payout['id']}/reverse",
        data={"metadata[why]": "wrong account"},
        headers=merchant.auth(),
    )
    assert reversed_.status_code == 200, reversed_.text
    reversal = reversed_.json()
    assert reversal["original_payout"] == payout["id"] and reversal["status"] == "paid"
    assert reversal["amount"] == 2_500 and reversal["metadata"] == {"why": "wrong account"}
    original = await get(client, merchant, f"/v1/payouts/{payout['id']}")
    assert original["reversed_by"] == reversal["id"]
    assert await consistent(client, merchant, database) == AVAILABLE
    twice = await client.post(f"/v1/payouts/{payout['id']}/reverse", headers=merchant.auth())
    assert twice.status_code == 400
    of_reversal = await client.post(
        f"/v1/payouts/{reversal['id']}/reverse", headers=merchant.auth()
    )
    assert of_reversal.status_code == 400
    assert await consistent(client, merchant, database) == AVAILABLE
