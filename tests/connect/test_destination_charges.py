"""Destination charges (Stripe's ``transfer_data``): the capture's transfer and application
fee, balances on both sides equal to their balance transactions before and after the funds
become available, the application fee routes, and refunds that take the transfer and the fee
back in proportion — never more than was sent, however the refunds race."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.ledger.service import ledger_service
from beyondpay.payments.tasks import release_funds
from tests.connect.support import NET_OF_ONE_PAYMENT, available, connected, nets_match_balance
from tests.payments.support import get, pay, post
from tests.support import TestMerchant, make_merchant

AMOUNT = 10_000  # ₹100, the payments tests' figure (₹98 net of the platform's fee)


async def _destination_charge(
    client: httpx.AsyncClient, platform: TestMerchant, account: str, **more: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    intent = await pay(
        client,
        platform,
        payment_method="pm_card_visa",
        **{"transfer_data[destination]": account},
        **more,
    )
    assert intent["status"] == "succeeded", intent
    charge = await get(client, platform, f"/v1/charges/{intent['latest_charge']}")
    return intent, charge


async def _event_types(database: Database, merchant_id: str, prefix: str) -> list[str]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text(
                "SELECT type FROM events WHERE merchant_id = :id AND type LIKE :prefix"
                " ORDER BY created_at, id"
            ),
            {"id": merchant_id, "prefix": f"{prefix}%"},
        )
        return list(rows.scalars())


async def _pending(client: httpx.AsyncClient, merchant: TestMerchant, account: str | None) -> int:
    headers = merchant.auth() | ({"Stripe-Account": account} if account else {})
    balance = (await client.get("/v1/balance", headers=headers)).json()
    return sum(item["amount"] for item in balance["pending"])


async def _balances_match(client: httpx.AsyncClient, platform: TestMerchant, account: str) -> None:
    for who in (None, account):
        ledger, nets = await nets_match_balance(client, platform, who)
        assert ledger == nets, who


async def test_a_destination_charge_transfers_and_collects_its_application_fee(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    account = (await connected(client, merchant))["id"]
    clock = FrozenClock(datetime.now(UTC))
    with use_clock(clock):
        intent, charge = await _destination_charge(
            client,
            merchant,
            account,
            application_fee_amount="1000",
            transfer_group="order-7",
            on_behalf_of=account,
        )
        assert intent["transfer_data"] == {"destination": account}
        assert intent["application_fee_amount"] == 1_000
        assert intent["on_behalf_of"] == account and intent["transfer_group"] == "order-7"
        assert charge["transfer"].startswith("tr_") and charge["application_fee"].startswith("fee_")
        assert charge["destination"] == account and charge["transfer_group"] == "order-7"
        assert charge["transfer_data"] == {"amount": None, "destination": account}
        transfer = await get(client, merchant, f"/v1/transfers/{charge['transfer']}")
        # Stripe's flow of funds: the whole amount is sent, the fee is collected back.
        assert transfer["amount"] == AMOUNT and transfer["destination"] == account
        assert transfer["source_transaction"] == charge["id"]
        assert transfer["transfer_group"] == "order-7"
        fee = await get(client, merchant, f"/v1/application_fees/{charge['application_fee']}")
        assert fee["amount"] == 1_000 and fee["account"] == account
        assert fee["charge"] == fee["originating_transaction"] == charge["id"]
        fee_txn = await get(
            client, merchant, f"/v1/balance_transactions/{fee['balance_transaction']}"
        )
        assert fee_txn["type"] == "application_fee" and fee_txn["amount"] == 1_000
        # Pending on both sides until the charge's funds are available.
        assert await _pending(client, merchant, account) == AMOUNT - 1_000
        assert await _pending(client, merchant, None) == NET_OF_ONE_PAYMENT - AMOUNT + 1_000
        await _balances_match(client, merchant, account)
        clock.advance(timedelta(days=2, seconds=1))
        await release_funds(database)
        assert await available(client, merchant, account) == AMOUNT - 1_000
        assert await available(client, merchant) == NET_OF_ONE_PAYMENT - AMOUNT + 1_000
        assert await _pending(client, merchant, account) == 0
        assert await _pending(client, merchant, None) == 0
        await _balances_match(client, merchant, account)
    async with database.unit_of_work() as session:
        report = await ledger_service.verify_journal(session)
    assert report.ok, report.problems
    assert await _event_types(database, merchant.id, "transfer.") == ["transfer.created"]
    assert await _event_types(database, merchant.id, "application_fee.") == [
        "application_fee.created"
    ]


async def test_transfer_data_amount_sends_that_amount_and_no_fee(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    account = (await connected(client, merchant))["id"]
    intent, charge = await _destination_charge(
        client, merchant, account, **{"transfer_data[amount]": "7000"}
    )
    assert intent["transfer_data"] == {"destination": account, "amount": 7_000}
    assert charge["application_fee"] is None and charge["application_fee_amount"] is None
    transfer = await get(client, merchant, f"/v1/transfers/{charge['transfer']}")
    assert transfer["amount"] == 7_000
    assert await _pending(client, merchant, account) == 7_000
    await _balances_match(client, merchant, account)


async def test_bad_destination_parameters_are_named(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    account = (await connected(client, merchant))["id"]
    other = (await connected(client, merchant))["id"]
    stranger = await make_merchant(database, name="Other platform")
    destination = {"transfer_data[destination]": account}
    cases: list[tuple[dict[str, str], str]] = [
        ({"transfer_data[destination]": stranger.id}, "transfer_data[destination]"),
        ({"transfer_data[destination]": "acct_nope"}, "transfer_data[destination]"),
        ({"application_fee_amount": "100"}, "application_fee_amount"),
        ({**destination, "application_fee_amount": "10001"}, "application_fee_amount"),
        ({**destination, "application_fee_amount": "0"}, "application_fee_amount"),
        ({**destination, "transfer_data[amount]": "10001"}, "transfer_data[amount]"),
        (
            {**destination, "transfer_data[amount]": "100", "application_fee_amount": "100"},
            "transfer_data[amount]",
        ),
        ({**destination, "on_behalf_of": other}, "on_behalf_of"),
        ({"on_behalf_of": account}, "on_behalf_of"),
    ]
    for params, param in cases:
        body = {"amount": "10000", "currency": "inr", **params}
        response = await post(client, merchant, "/v1/payment_intents", **body)
        assert response.status_code in (400, 404), (params, response.text)
        assert response.json()["error"]["param"] == param, (params, response.text)
    # A connected account (Stripe-Account) makes no destination charge of its own here.
    acting = merchant.auth() | {"Stripe-Account": account}
    refused = await client.post(
        "/v1/payment_intents",
        data={"amount": "10000", "currency": "inr", "application_fee_amount": "100"},
        headers=acting,
    )
    assert refused.status_code == 400 and refused.json()["error"]["param"] == (
        "application_fee_amount"
    )
    # An update lowering the amount under the fee is refused too.
    made = await post(
        client,
        merchant,
        "/v1/payment_intents",
        amount="10000",
        currency="inr",
        application_fee_amount="5000",
        **destination,
    )
    assert made.status_code == 200, made.text
    lowered = await post(
        client, merchant, f"/v1/payment_intents/{made.json()['id']}", amount="4000"
    )
    assert lowered.status_code == 400
    assert lowered.json()["error"]["param"] == "application_fee_amount"
    async with database.unit_of_work() as session:
        count = (await session.execute(text("SELECT count(*) FROM connect_transfers"))).scalar_one()
    assert count == 0


async def test_refunds_reverse_the_transfer_and_the_fee_in_proportion(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    account = (await connected(client, merchant))["id"]
    _, charge = await _destination_charge(client, merchant, account, application_fee_amount="999")
    first = await post(
        client,
        merchant,
        "/v1/refunds",
        charge=charge["id"],
        amount="3333",
        reverse_transfer="true",
        refund_application_fee="true",
    )
    assert first.status_code == 200, first.text
    transfer = await get(client, merchant, f"/v1/transfers/{charge['transfer']}")
    assert transfer["amount_reversed"] == 3_333
    assert transfer["reversals"]["data"][0]["source_refund"] == first.json()["id"]
    fee = await get(client, merchant, f"/v1/application_fees/{charge['application_fee']}")
    assert fee["amount_refunded"] == 3_333 * 999 // AMOUNT  # 332, rounded down
    # Only the fee: the transfer stays where it is.
    second = await post(
        client, merchant, "/v1/refunds", charge=charge["id"], amount="1000",
        refund_application_fee="true",
    )  # fmt: skip
    assert second.status_code == 200, second.text
    assert (await get(client, merchant, f"/v1/transfers/{charge['transfer']}"))[
        "amount_reversed"
    ] == 3_333
    # The last refund takes all that is left of both.
    last = await post(
        client,
        merchant,
        "/v1/refunds",
        charge=charge["id"],
        reverse_transfer="true",
        refund_application_fee="true",
    )
    assert last.status_code == 200, last.text
    transfer = await get(client, merchant, f"/v1/transfers/{charge['transfer']}")
    fee = await get(client, merchant, f"/v1/application_fees/{charge['application_fee']}")
    # Each its share of the running total: the 1000 refunded without a reversal stays sent.
    assert transfer["amount_reversed"] == AMOUNT - 1_000
    assert fee["amount_refunded"] == 999 and fee["refunded"] is True
    await _balances_match(client, merchant, account)
    assert "application_fee.refunded" in await _event_types(
        database, merchant.id, "application_fee."
    )


async def test_reverse_transfer_needs_a_destination_charge(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    intent = await pay(client, merchant, payment_method="pm_card_visa")
    for param in ("reverse_transfer", "refund_application_fee"):
        refused = await post(
            client, merchant, "/v1/refunds", payment_intent=intent["id"], **{param: "true"}
        )
        assert refused.status_code == 400, refused.text
        assert refused.json()["error"]["param"] == param
    assert (await get(client, merchant, f"/v1/charges/{intent['latest_charge']}"))[
        "amount_refunded"
    ] == 0


async def test_application_fee_routes(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    account = (await connected(client, merchant))["id"]
    _, charge = await _destination_charge(client, merchant, account, application_fee_amount="1000")
    _, other = await _destination_charge(client, merchant, account, application_fee_amount="500")
    fee_id = charge["application_fee"]
    listed = await get(client, merchant, "/v1/application_fees")
    assert [item["id"] for item in listed["data"]] == [other["application_fee"], fee_id]
    by_charge = await get(client, merchant, "/v1/application_fees", charge=charge["id"])
    assert [item["id"] for item in by_charge["data"]] == [fee_id]
    partial = await post(
        client, merchant, f"/v1/application_fees/{fee_id}/refunds", amount="400",
        **{"metadata[why]": "goodwill"},
    )  # fmt: skip
    assert partial.status_code == 200, partial.text
    refund = partial.json()
    assert refund["object"] == "fee_refund" and refund["id"].startswith("fr_")
    assert refund["fee"] == fee_id and refund["metadata"] == {"why": "goodwill"}
    too_much = await post(client, merchant, f"/v1/application_fees/{fee_id}/refunds", amount="601")
    assert too_much.status_code == 400 and too_much.json()["error"]["param"] == "amount"
    rest = await post(client, merchant, f"/v1/application_fees/{fee_id}/refunds")
    assert rest.status_code == 200 and rest.json()["amount"] == 600
    found = await get(client, merchant, f"/v1/application_fees/{fee_id}")
    assert found["amount_refunded"] == 1_000 and found["refunded"] is True
    assert found["refunds"]["total_count"] == 2
    one = await get(client, merchant, f"/v1/application_fees/{fee_id}/refunds/{refund['id']}")
    assert one["amount"] == 400
    updated = await post(
        client,
        merchant,
        f"/v1/application_fees/{fee_id}/refunds/{refund['id']}",
        **{"metadata[why]": "error"},
    )
    assert updated.status_code == 200 and updated.json()["metadata"] == {"why": "error"}
    refunds = await get(client, merchant, f"/v1/application_fees/{fee_id}/refunds")
    assert [item["id"] for item in refunds["data"]] == [rest.json()["id"], refund["id"]]
    # Money: the fee went back to the connected account's available balance.
    assert await available(client, merchant, account) == 1_000
    await _balances_match(client, merchant, account)
    # The platform's alone: not through Stripe-Account, not another platform's.
    acting = merchant.auth() | {"Stripe-Account": account}
    assert (await client.get(f"/v1/application_fees/{fee_id}", headers=acting)).status_code == 403
    stranger = await make_merchant(database, name="Other platform")
    hidden = await client.get(f"/v1/application_fees/{fee_id}", headers=stranger.auth())
    assert hidden.status_code == 404
    assert await _event_types(database, merchant.id, "application_fee.") == [
        "application_fee.created",
        "application_fee.created",
        "application_fee.refunded",
        "application_fee.refunded",
        "application_fee.refund.updated",
    ]


async def test_racing_fee_refunds_never_refund_more_than_the_fee(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    account = (await connected(client, merchant))["id"]
    _, charge = await _destination_charge(client, merchant, account, application_fee_amount="1000")
    path = f"/v1/application_fees/{charge['application_fee']}/refunds"
    responses = await asyncio.gather(
        post(client, merchant, path, amount="600"), post(client, merchant, path, amount="600")
    )
    assert sorted(response.status_code for response in responses) == [200, 400]
    fee = await get(client, merchant, f"/v1/application_fees/{charge['application_fee']}")
    assert fee["amount_refunded"] == 600
    await _balances_match(client, merchant, account)


async def test_racing_refunds_never_reverse_more_than_the_transfer(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    account = (await connected(client, merchant))["id"]
    _, charge = await _destination_charge(
        client, merchant, account, **{"transfer_data[amount]": "7001"}
    )
    responses = await asyncio.gather(
        *(
            post(
                client,
                merchant,
                "/v1/refunds",
                charge=charge["id"],
                amount="2500",
                reverse_transfer="true",
            )
            for _ in range(5)
        )
    )
    assert sorted(response.status_code for response in responses) == [200] * 4 + [400]
    transfer = await get(client, merchant, f"/v1/transfers/{charge['transfer']}")
    # Each refund of 2500 takes 1750 (rounded down on the running total); the last the rest.
    assert transfer["amount_reversed"] == 7_001
    assert sorted(item["amount"] for item in transfer["reversals"]["data"]) == [
        1_750,
        1_750,
        1_750,
        1_751,
    ]
    await _balances_match(client, merchant, account)


async def test_a_reversal_refunds_the_fee_in_proportion_and_a_manual_capture_transfers(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    account = (await connected(client, merchant))["id"]
    intent = await pay(
        client,
        merchant,
        payment_method="pm_card_visa",
        capture_method="manual",
        application_fee_amount="1000",
        **{"transfer_data[destination]": account},
    )
    assert intent["status"] == "requires_capture"
    charge = await get(client, merchant, f"/v1/charges/{intent['latest_charge']}")
    assert charge["transfer"] is None and charge["application_fee"] is None
    captured = await post(
        client, merchant, f"/v1/payment_intents/{intent['id']}/capture", amount_to_capture="8000"
    )
    assert captured.status_code == 200, captured.text
    charge = await get(client, merchant, f"/v1/charges/{intent['latest_charge']}")
    transfer = await get(client, merchant, f"/v1/transfers/{charge['transfer']}")
    assert transfer["amount"] == 8_000  # what was captured
    reversal = await post(
        client,
        merchant,
        f"/v1/transfers/{charge['transfer']}/reversals",
        amount="2000",
        refund_application_fee="true",
    )
    assert reversal.status_code == 200, reversal.text
    fee = await get(client, merchant, f"/v1/application_fees/{charge['application_fee']}")
    assert fee["amount_refunded"] == 2_000 * 1_000 // 8_000
    rest = await post(
        client,
        merchant,
        f"/v1/transfers/{charge['transfer']}/reversals",
        refund_application_fee="true",
    )
    assert rest.status_code == 200, rest.text
    fee = await get(client, merchant, f"/v1/application_fees/{charge['application_fee']}")
    assert fee["amount_refunded"] == 1_000
    await _balances_match(client, merchant, account)


async def test_a_capture_heard_twice_makes_one_transfer(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    from beyondpay.connect.fees import record_destination_charge
    from beyondpay.payments.service import DestinationCharge

    account = (await connected(client, merchant))["id"]
    _, charge = await _destination_charge(client, merchant, account, application_fee_amount="100")
    again = DestinationCharge(
        charge_id=charge["id"],
        merchant_id=merchant.id,
        livemode=False,
        destination_id=account,
        currency="inr",
        transfer_id="tr_other",
        transfer_amount=AMOUNT,
        transfer_balance_transaction_id="txn_other",
        destination_payment_id="py_other",
        application_fee_id="fee_other",
        application_fee_amount=100,
        application_fee_balance_transaction_id="txn_other_fee",
        transfer_group=None,
        created_at=datetime.now(UTC),
    )
    async with database.unit_of_work() as session:
        await record_destination_charge(session, again)
    async with database.unit_of_work() as session:
        counts = (
            await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM connect_transfers WHERE charge_id = :ch),"
                    " (SELECT count(*) FROM application_fees WHERE charge_id = :ch)"
                ),
                {"ch": charge["id"]},
            )
        ).one()
    assert tuple(counts) == (1, 1)
