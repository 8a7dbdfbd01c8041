"""Disputes over HTTP on the sandbox rails: Stripe's dispute test card (and the UPI test VPA)
opens one after capture, evidence wins or loses it as Stripe's test mode documents, and the
money moves through the ledger (verified after every test by tests/conftest.py) with balance
transactions that still add up to the balance."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import psycopg
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.db.urls import libpq_url
from beyondpay.ledger.journal import verify_connection
from beyondpay.rails.tasks import deliver_callback_on
from tests.disputes.support import (
    AMOUNT,
    DISPUTE_FEE,
    PROCESSING_FEE,
    disputed_card_payment,
    event_types,
    open_disputes,
)
from tests.payments.support import balance_and_transactions, deliver_callbacks, get, pay, post
from tests.support import TestMerchant, make_merchant

NET: int = AMOUNT - PROCESSING_FEE


async def _update(
    client: httpx.AsyncClient, merchant: TestMerchant, dispute: dict[str, Any], **params: Any
) -> httpx.Response:
    return await post(client, merchant, f"/v1/disputes/{dispute['id']}", **params)


def _error(response: httpx.Response, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


async def test_the_dispute_card_opens_a_dispute_that_withdraws_the_amount_and_its_fee(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    intent = await pay(client, merchant, payment_method="pm_card_createDispute")
    assert (await get(client, merchant, "/v1/disputes"))["data"] == []  # not before the network
    assert await open_disputes(database) == 1
    dispute = (await get(client, merchant, "/v1/disputes"))["data"][0]
    assert dispute["id"].startswith("dp_") and dispute["object"] == "dispute"
    assert (dispute["amount"], dispute["currency"], dispute["status"]) == (
        AMOUNT,
        "inr",
        "needs_response",
    )
    assert (dispute["charge"], dispute["payment_intent"]) == (intent["latest_charge"], intent["id"])
    assert (dispute["reason"], dispute["network_reason_code"]) == ("fraudulent", "10.4")
    assert dispute["payment_method_details"]["type"] == "card"
    assert dispute["payment_method_details"]["card"]["brand"] == "visa"
    assert dispute["payment_method_details"]["card"]["case_type"] == "chargeback"
    assert dispute["is_charge_refundable"] is False and dispute["livemode"] is False
    details = dispute["evidence_details"]
    assert details["due_by"] > dispute["created"]
    assert (details["has_evidence"], details["submission_count"], details["past_due"]) == (
        False,
        0,
        False,
    )
    assert all(
        value is None for key, value in dispute["evidence"].items() if key != "enhanced_evidence"
    )
    (withdrawal,) = dispute["balance_transactions"]
    assert (withdrawal["type"], withdrawal["reporting_category"]) == ("adjustment", "dispute")
    assert (withdrawal["amount"], withdrawal["fee"], withdrawal["net"]) == (
        -AMOUNT,
        DISPUTE_FEE,
        -AMOUNT - DISPUTE_FEE,
    )
    assert withdrawal["source"] == dispute["id"] and withdrawal["status"] == "available"
    assert withdrawal["fee_details"][0]["description"] == "Dispute fee"
    charge = await get(client, merchant, f"/v1/charges/{intent['latest_charge']}")
    assert charge["disputed"] is True
    listed = await get(client, merchant, "/v1/balance_transactions", type="adjustment")
    assert [item["id"] for item in listed["data"]] == [withdrawal["id"]]
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": -AMOUNT - DISPUTE_FEE, "pending": NET}
    assert await event_types(database, dispute["id"]) == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
    ]
    assert (await get(client, merchant, f"/v1/disputes/{dispute['id']}")) == dispute


async def test_the_networks_report_delivered_twice_opens_one_dispute(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    _, dispute = await disputed_card_payment(client, merchant, database)
    async with database.unit_of_work() as session:
        reference = (
            await session.execute(
                text("SELECT rail_reference FROM disputes WHERE id = :id"), {"id": dispute["id"]}
            )
        ).scalar_one()
        # As if the callback job ran again, its first delivery forgotten.
        await session.execute(
            text("UPDATE sandbox_rail_operations SET callbacks_sent = 0 WHERE reference = :r"),
            {"r": reference},
        )
    await deliver_callback_on(database, reference, 1)
    assert len((await get(client, merchant, "/v1/disputes"))["data"]) == 1
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": -AMOUNT - DISPUTE_FEE, "pending": NET}


async def test_winning_evidence_wins_and_gives_the_money_and_the_fee_back(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    _, dispute = await disputed_card_payment(client, merchant, database)
    answer = await _update(
        client,
        merchant,
        dispute,
        **{
            "evidence[uncategorized_text]": "winning_evidence",
            "evidence[customer_name]": "Asha Verma",
            "evidence[customer_email_address]": "asha@example.com",
            "evidence[product_description]": "A kettle",
            "evidence[shipping_tracking_number]": "EE123456789IN",
            "evidence[receipt]": "file_receipt",
            "metadata[case]": "C-1",
        },
    )
    assert answer.status_code == 200, answer.text
    won = answer.json()
    assert won["status"] == "won" and won["metadata"] == {"case": "C-1"}
    assert won["evidence"]["customer_name"] == "Asha Verma"
    assert won["evidence"]["shipping_tracking_number"] == "EE123456789IN"
    details = won["evidence_details"]
    assert (details["has_evidence"], details["submission_count"]) == (True, 1)
    assert details["submission_method"] == "manual"
    _, reinstatement = won["balance_transactions"]
    assert (reinstatement["type"], reinstatement["reporting_category"]) == (
        "adjustment",
        "dispute_reversal",
    )
    assert (reinstatement["amount"], reinstatement["fee"], reinstatement["net"]) == (
        AMOUNT,
        -DISPUTE_FEE,
        AMOUNT + DISPUTE_FEE,
    )
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": 0, "pending": NET}
    assert await event_types(database, dispute["id"]) == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
        "charge.dispute.closed",
        "charge.dispute.funds_reinstated",
    ]
    # Closed: evidence and closing are refused, naming what was sent; metadata still changes.
    refused = _error(await _update(client, merchant, dispute, **{"evidence[customer_name]": "X"}))
    assert (refused["code"], refused["param"]) == ("dispute_unexpected_state", "evidence")
    refused = _error(await post(client, merchant, f"/v1/disputes/{dispute['id']}/close"))
    assert refused["code"] == "dispute_unexpected_state"
    relabelled = await _update(client, merchant, dispute, **{"metadata[case]": "C-2"})
    assert relabelled.status_code == 200 and relabelled.json()["status"] == "won"
    async with await psycopg.AsyncConnection.connect(libpq_url(database.url)) as connection:
        report = await verify_connection(connection, seal_first=True)
    assert report.ok, report.problems  # ledger verify, with the dispute's transfers in it


async def test_losing_evidence_loses_and_the_money_stays_withdrawn(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    _, dispute = await disputed_card_payment(client, merchant, database)
    answer = await _update(
        client, merchant, dispute, **{"evidence[uncategorized_text]": "losing_evidence"}
    )
    assert answer.status_code == 200, answer.text
    lost = answer.json()
    assert lost["status"] == "lost" and len(lost["balance_transactions"]) == 1
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": -AMOUNT - DISPUTE_FEE, "pending": NET}
    assert await event_types(database, dispute["id"]) == [
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.updated",
        "charge.dispute.closed",
    ]


async def test_staged_evidence_is_submitted_later_and_other_evidence_stays_under_review(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    _, dispute = await disputed_card_payment(client, merchant, database)
    staged = await _update(
        client,
        merchant,
        dispute,
        submit="false",
        **{"evidence[uncategorized_text]": "winning_evidence", "evidence[customer_name]": "A"},
    )
    assert staged.status_code == 200, staged.text
    body = staged.json()
    assert body["status"] == "needs_response"
    assert body["evidence_details"]["has_evidence"] is True
    assert body["evidence_details"]["submission_count"] == 0
    # An empty value unsets a field; text that is no magic word stays under review.
    submitted = await _update(
        client,
        merchant,
        dispute,
        **{
            "evidence[uncategorized_text]": "The customer received it.",
            "evidence[customer_name]": "",
        },
    )
    assert submitted.status_code == 200, submitted.text
    body = submitted.json()
    assert body["status"] == "under_review" and body["evidence"]["customer_name"] is None
    assert body["evidence_details"]["submission_count"] == 1
    again = _error(await _update(client, merchant, dispute, submit="true"))
    assert (again["code"], again["param"]) == ("dispute_unexpected_state", "submit")
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": -AMOUNT - DISPUTE_FEE, "pending": NET}


async def test_submit_alone_submits_what_is_staged(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    _, dispute = await disputed_card_payment(client, merchant, database)
    await _update(
        client,
        merchant,
        dispute,
        submit="false",
        **{"evidence[uncategorized_text]": "winning_evidence"},
    )
    only_metadata = await _update(client, merchant, dispute, **{"metadata[a]": "b"})
    assert only_metadata.json()["status"] == "needs_response"  # metadata submits nothing
    won = await _update(client, merchant, dispute, submit="true")
    assert won.status_code == 200 and won.json()["status"] == "won"


async def test_closing_accepts_the_loss_and_nothing_more_is_taken(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    intent, dispute = await disputed_card_payment(client, merchant, database)
    closed = await post(client, merchant, f"/v1/disputes/{dispute['id']}/close")
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "lost"
    again = _error(await post(client, merchant, f"/v1/disputes/{dispute['id']}/close"))
    assert again["code"] == "dispute_unexpected_state"
    late = _error(
        await _update(
            client, merchant, dispute, **{"evidence[uncategorized_text]": "winning_evidence"}
        )
    )
    assert (late["code"], late["param"]) == ("dispute_unexpected_state", "evidence")
    refund = _error(await post(client, merchant, "/v1/refunds", charge=intent["latest_charge"]))
    assert (refund["code"], refund["param"]) == ("charge_disputed", "charge")
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": -AMOUNT - DISPUTE_FEE, "pending": NET}
    assert (await event_types(database, dispute["id"]))[-1] == "charge.dispute.closed"


async def test_a_upi_payment_to_the_dispute_vpa_is_charged_back(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    intent = await pay(
        client,
        merchant,
        **{
            "payment_method_types[0]": "upi",
            "payment_method_data[type]": "upi",
            "payment_method_data[upi][vpa]": "dispute@sandbox",
        },
    )
    assert intent["status"] == "requires_action"
    await deliver_callbacks(database, after=timedelta(seconds=5))  # the payer approves
    assert (await get(client, merchant, f"/v1/payment_intents/{intent['id']}"))["status"] == (
        "succeeded"
    )
    assert await open_disputes(database) == 1  # then the switch reports the chargeback
    (dispute,) = (await get(client, merchant, "/v1/disputes", payment_intent=intent["id"]))["data"]
    assert dispute["payment_method_details"] == {
        "type": "upi",
        "upi": {"case_type": "chargeback", "network": "npci", "network_reason_code": None},
    }
    assert dispute["reason"] == "product_not_received" and dispute["amount"] == AMOUNT
    won = await _update(
        client, merchant, dispute, **{"evidence[uncategorized_text]": "winning_evidence"}
    )
    assert won.json()["status"] == "won"
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums


async def test_lists_filter_by_charge_payment_intent_and_created(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    first, one = await disputed_card_payment(client, merchant, database)
    second, two = await disputed_card_payment(client, merchant, database)
    await pay(client, merchant, payment_method="pm_card_visa")  # not disputed
    listed = await get(client, merchant, "/v1/disputes")
    assert [item["id"] for item in listed["data"]] == [two["id"], one["id"]]
    by_charge = await get(client, merchant, "/v1/disputes", charge=first["latest_charge"])
    assert [item["id"] for item in by_charge["data"]] == [one["id"]]
    by_intent = await get(client, merchant, "/v1/disputes", payment_intent=second["id"])
    assert [item["id"] for item in by_intent["data"]] == [two["id"]]
    later = await get(client, merchant, "/v1/disputes", **{"created[gt]": two["created"] + 3600})
    assert later["data"] == []
    paged = await get(client, merchant, "/v1/disputes", limit=1)
    assert paged["has_more"] is True and paged["url"] == "/v1/disputes"


async def test_bad_input_is_refused_naming_the_parameter(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    _, dispute = await disputed_card_payment(client, merchant, database)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"evidence[favourite_colour]": "blue"}, "evidence[favourite_colour]"),
        ({"evidence[uncategorized_text]": "x" * 20_001}, "evidence[uncategorized_text]"),
        ({"evidence[customer_name]": "x" * 5_001}, "evidence[customer_name]"),
        ({"submit": "maybe"}, "submit"),
        ({"amount": "5"}, "amount"),
    ]
    for params, param in cases:
        error = _error(await _update(client, merchant, dispute, **params))
        assert error["param"] == param, (params, error)
    too_much = {
        f"evidence[{name}]": "x" * 20_000
        for name in (
            "access_activity_log",
            "cancellation_policy_disclosure",
            "cancellation_rebuttal",
            "duplicate_charge_explanation",
            "product_description",
            "refund_policy_disclosure",
            "refund_refusal_explanation",
            "uncategorized_text",
        )
    }
    error = _error(await _update(client, merchant, dispute, **too_much))
    assert (error["code"], error["param"]) == ("evidence_too_long", "evidence")
    error = _error(await post(client, merchant, f"/v1/disputes/{dispute['id']}/close", reason="x"))
    assert error["param"] == "reason"
    missing = _error(await post(client, merchant, "/v1/disputes/dp_missing/close"), 404)
    assert missing["code"] == "resource_missing"
    listing = await client.get("/v1/disputes", params={"status": "won"}, headers=merchant.auth())
    assert _error(listing)["param"] == "status"
    # Nothing was half-written: the dispute is as it was.
    assert (await get(client, merchant, f"/v1/disputes/{dispute['id']}")) == dispute


async def test_another_merchant_sees_none_of_it(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    _, dispute = await disputed_card_payment(client, merchant, database)
    other = await make_merchant(database, name="Other")
    response = await client.get(f"/v1/disputes/{dispute['id']}", headers=other.auth())
    assert _error(response, 404)["code"] == "resource_missing"
    assert (await get(client, other, "/v1/disputes"))["data"] == []
    closing = await post(client, other, f"/v1/disputes/{dispute['id']}/close")
    assert closing.status_code == 404


async def test_a_held_payment_is_disputed_only_once_captured(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    intent = await pay(
        client, merchant, payment_method="pm_card_createDispute", capture_method="manual"
    )
    assert intent["status"] == "requires_capture"
    assert await open_disputes(database) == 0  # a hold is not disputed
    captured = await post(client, merchant, f"/v1/payment_intents/{intent['id']}/capture")
    assert captured.status_code == 200, captured.text
    assert await open_disputes(database) == 1
    (dispute,) = (await get(client, merchant, "/v1/disputes"))["data"]
    assert dispute["amount"] == AMOUNT and dispute["payment_intent"] == intent["id"]


async def test_a_refund_before_the_dispute_is_not_taken_twice(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    partly = await pay(client, merchant, payment_method="pm_card_createDispute")
    fully = await pay(client, merchant, payment_method="pm_card_createDispute")
    for intent, amount in ((partly, 3_000), (fully, AMOUNT)):
        refund = await post(
            client, merchant, "/v1/refunds", payment_intent=intent["id"], amount=amount
        )
        assert refund.status_code == 200 and refund.json()["status"] == "succeeded"
    assert await open_disputes(database) == 2
    (dispute,) = (await get(client, merchant, "/v1/disputes"))["data"]  # none for the full one
    assert dispute["payment_intent"] == partly["id"] and dispute["amount"] == AMOUNT - 3_000
    fully_charge = await get(client, merchant, f"/v1/charges/{fully['latest_charge']}")
    assert fully_charge["disputed"] is False
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums
    assert balance["available"] == -3_000 - AMOUNT - (AMOUNT - 3_000) - DISPUTE_FEE
