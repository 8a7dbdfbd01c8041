"""A UPI payment to a merchant's VPA lands in the merchant's books (issue 27, item 2): a payer
pays the merchant's static or dynamic QR through the PSP, over HTTP as a payer app does, and the
merchant's payment intents, charges, balance transactions and events show a succeeded UPI
payment with the QR's reference, made once per UPI transaction id however often the credit is
told and whoever tells it at the same moment."""

from __future__ import annotations

import asyncio
import io
import json
import secrets
import string
from typing import Any

import httpx
import zxingcpp
from PIL import Image
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import utcnow
from beyondpay.ledger.service import ledger_service
from beyondpay.payments.service import UpiCredit, record_upi_credit
from beyondpay.psp.transfers.service import credit_merchant
from beyondpay.rails.service import CreditNotice
from tests.payments.support import balance_and_transactions, deliver_callbacks, get
from tests.psp.transfers_support import ReadyPayer, balance, pay, ready_payer
from tests.support import TestMerchant

OPENING_BALANCE = 1_00_000_00
EVENTS_OF_A_PAYMENT = sorted(
    ["payment_intent.created", "charge.succeeded", "payment_intent.succeeded"]
)
DELIVERIES_RACING = 8


async def _merchant_vpa(client: httpx.AsyncClient, merchant: TestMerchant) -> dict[str, Any]:
    created = await client.post(
        "/v1/upi/merchant_vpas",
        data={
            "username": "chai." + secrets.token_hex(3),
            "merchant_category_code": "5812",
            "display_name": "Chai Point",
        },
        headers=merchant.auth(),
    )
    assert created.status_code == 200, created.text
    vpa: dict[str, Any] = created.json()
    return vpa


async def _scanned_qr(
    client: httpx.AsyncClient, merchant: TestMerchant, vpa_id: str, **params: Any
) -> str:
    """The QR code the merchant prints, read by a camera (zxing-cpp) as a payer app does."""
    qr = await client.get(
        f"/v1/upi/merchant_vpas/{vpa_id}/qr.png", params=params, headers=merchant.auth()
    )
    assert qr.status_code == 200, qr.text
    [decoded] = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.content)))
    return str(decoded.text)


async def _paid_qr(
    client: httpx.AsyncClient,
    merchant: TestMerchant,
    payer: ReadyPayer,
    paid: int,
    *,
    vpa_id: str | None = None,
    **qr: Any,
) -> dict[str, Any]:
    """The payer's receipt of paying ``paid`` to the merchant's QR (dynamic when ``qr`` has an
    amount)."""
    vpa_id = vpa_id or (await _merchant_vpa(client, merchant))["id"]
    payload = await _scanned_qr(client, merchant, vpa_id, **qr)
    answer = await pay(client, payer, paid, qr_payload=payload)
    assert answer.status_code == 200, answer.text
    receipt: dict[str, Any] = answer.json()
    assert receipt["status"] == "succeeded" and receipt["payee"]["kind"] == "merchant"
    return receipt


async def _books(client: httpx.AsyncClient, merchant: TestMerchant) -> dict[str, list[Any]]:
    """Everything of the merchant's that a payment writes, newest first."""
    paths = {
        "intents": "/v1/payment_intents",
        "charges": "/v1/charges",
        "transactions": "/v1/balance_transactions",
        "events": "/v1/events",
    }
    books = {}
    for name, path in paths.items():
        page = await get(client, merchant, path, limit=100)
        assert not page["has_more"]
        books[name] = page["data"]
    return books


def _payment_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of the payment, oldest first (not the VPA's ``upi.merchant_vpa.created``)."""
    return [event for event in reversed(events) if not event["type"].startswith("upi.")]


def _types(events: list[dict[str, Any]]) -> list[str]:
    # Sorted: the events of one transaction have ids made in the same millisecond, and a list
    # orders those by the ids' random part, not by when each was recorded.
    return sorted(event["type"] for event in _payment_events(events))


async def test_a_paid_dynamic_qr_is_a_succeeded_upi_payment_in_the_merchants_books(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    asha = await ready_payer(client)
    vpa = await _merchant_vpa(client, merchant)
    receipt = await _paid_qr(
        client, merchant, asha, 180_00, vpa_id=vpa["id"], amount=180_00, tr="ORDER-7", tn="chai"
    )
    assert receipt["reference"] == "ORDER-7"
    assert await balance(client, asha) == OPENING_BALANCE - 180_00

    books = await _books(client, merchant)
    [intent], [charge], [transaction] = books["intents"], books["charges"], books["transactions"]
    transaction_id = receipt["upi_transaction_id"]
    assert len(transaction_id) == 35 and transaction_id.isalnum()
    metadata = {
        "upi_reference": "ORDER-7",
        "upi_transaction_id": transaction_id,
        "upi_merchant_vpa": vpa["id"],
    }
    assert intent["status"] == "succeeded" and intent["livemode"] is False
    assert intent["payment_method_types"] == ["upi"]
    assert (intent["amount"], intent["amount_received"], intent["currency"]) == (
        180_00,
        180_00,
        "inr",
    )
    assert intent["description"] == "ORDER-7" and intent["metadata"] == metadata
    assert intent["latest_charge"] == charge["id"]
    assert charge["payment_intent"] == intent["id"]
    assert charge["status"] == "succeeded" and charge["paid"] and charge["captured"]
    assert (charge["amount"], charge["amount_captured"]) == (180_00, 180_00)
    assert charge["description"] == "ORDER-7" and charge["metadata"] == metadata
    assert charge["rail"] == {
        "name": "upi",
        "upi_transaction_id": transaction_id,
        "rrn": receipt["rrn"],
    }
    # The payer's VPA as their PSP lets a payee see it: masked, never in clear.
    details = charge["payment_method_details"]
    assert details["type"] == "upi"
    shown = details["upi"]["vpa"]
    assert shown != asha.vpa and "*" in shown and shown.endswith("@" + asha.vpa.split("@")[1])
    assert charge["balance_transaction"] == transaction["id"]
    assert transaction["source"] == charge["id"]
    assert (transaction["type"], transaction["reporting_category"]) == ("payment", "charge")
    assert transaction["amount"] == 180_00
    assert transaction["net"] == 180_00 - transaction["fee"]
    assert transaction["description"] == "ORDER-7"

    assert _types(books["events"]) == EVENTS_OF_A_PAYMENT
    for event in _payment_events(books["events"]):
        assert event["data"]["object"]["metadata"] == metadata
    assert asha.vpa not in json.dumps(books)

    found = await get(
        client,
        merchant,
        "/v1/payment_intents/search",
        query="metadata['upi_reference']:'ORDER-7'",
    )
    assert [item["id"] for item in found["data"]] == [intent["id"]]
    balances, sums = await balance_and_transactions(client, merchant)
    assert balances == sums and sums["pending"] + sums["available"] == transaction["net"]


async def test_a_paid_static_qr_is_a_payment_without_a_reference(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    ravi = await ready_payer(client, name="Ravi Kumar", bank="sbx2")
    receipt = await _paid_qr(client, merchant, ravi, 99_50)  # the payer typed the amount
    assert receipt["reference"] is None

    books = await _books(client, merchant)
    [intent], [charge], [transaction] = books["intents"], books["charges"], books["transactions"]
    assert intent["status"] == "succeeded" and intent["amount"] == 99_50
    assert intent["description"] is None
    assert intent["metadata"]["upi_transaction_id"] == receipt["upi_transaction_id"]
    assert "upi_reference" not in intent["metadata"]
    assert charge["paid"] and transaction["source"] == charge["id"]
    assert _types(books["events"]) == EVENTS_OF_A_PAYMENT


async def test_a_credit_costs_the_fee_of_a_upi_payment_taken_through_the_api(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    asha = await ready_payer(client)
    await _paid_qr(client, merchant, asha, 2_499_00, amount=2_499_00, tr="ORDER-8")
    collected = await client.post(
        "/v1/payment_intents",
        data={
            "amount": "249900",
            "currency": "inr",
            "confirm": "true",
            "payment_method_types[0]": "upi",
            "payment_method_data[type]": "upi",
            "payment_method_data[upi][vpa]": "success@sandbox",
        },
        headers=merchant.auth(),
    )
    assert collected.status_code == 200, collected.text
    await deliver_callbacks(database)  # the sandbox payer approves the collect

    transactions = (await _books(client, merchant))["transactions"]
    assert len(transactions) == 2
    fees = {transaction["fee"] for transaction in transactions}
    assert len(fees) == 1 and fees != {0}, transactions
    balances, sums = await balance_and_transactions(client, merchant)
    assert balances == sums


async def _credit_of(database: Database, intent_id: str) -> CreditNotice:
    """The notice the switch gave of the push behind ``intent_id``, told again."""
    async with database.unit_of_work() as session:
        row = (
            await session.execute(
                text(
                    "SELECT o.reference, o.details, o.payee_account_id, o.amount_minor,"
                    " o.created_at FROM sandbox_rail_operations o"
                    " JOIN charges c ON c.rail_reference = o.reference"
                    " WHERE c.payment_intent_id = :intent"
                ),
                {"intent": intent_id},
            )
        ).one()
    return CreditNotice(
        reference=row.reference,
        upi_transaction_id=row.details["upi_transaction_id"],
        rrn=row.details["rrn"],
        payee_account_ref=row.payee_account_id,
        amount_minor=row.amount_minor,
        currency="inr",
        livemode=False,
        credited_at=row.created_at,
        payee_reference="ORDER-9",
        note=None,
        payer_name="Asha Rao",
        payer_vpa_masked=None,
    )


async def test_a_credit_told_again_or_a_payment_retried_makes_nothing_more(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    asha = await ready_payer(client)
    vpa = await _merchant_vpa(client, merchant)
    payload = await _scanned_qr(client, merchant, vpa["id"], amount=50_00, tr="ORDER-9")
    first = await pay(client, asha, 50_00, qr_payload=payload, request_id="order-9")
    assert first.status_code == 200, first.text
    before = await _books(client, merchant)
    [intent] = before["intents"]

    again = await pay(client, asha, 50_00, qr_payload=payload, request_id="order-9")
    assert again.status_code == 200 and again.json() == first.json()
    notice = await _credit_of(database, intent["id"])
    for _ in range(2):
        async with database.unit_of_work() as session:
            assert await credit_merchant(session, notice) == merchant.id
    async with database.unit_of_work() as session:
        told = await record_upi_credit(
            session,
            UpiCredit(
                merchant_id=merchant.id,
                livemode=False,
                upi_transaction_id=notice.upi_transaction_id,
                rail_reference=notice.reference,
                amount_minor=notice.amount_minor,
                currency="inr",
                credited_at=notice.credited_at,
            ),
        )
    assert told.id == intent["id"]

    assert await _books(client, merchant) == before
    assert await balance(client, asha) == OPENING_BALANCE - 50_00


def _upi_transaction_id() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "SBX" + "".join(secrets.choice(alphabet) for _ in range(32))


def _credit(merchant: TestMerchant, transaction_id: str, amount: int) -> UpiCredit:
    return UpiCredit(
        merchant_id=merchant.id,
        livemode=False,
        upi_transaction_id=transaction_id,
        rail_reference=f"upi_race_{transaction_id}",
        amount_minor=amount,
        currency="inr",
        credited_at=utcnow(),
        rrn="512345678901",
        reference="ORDER-RACE",
        payer_name="Asha Rao",
        payer_vpa_masked="as****@beyondpay",
    )


async def _counts(database: Database, transaction_id: str) -> tuple[int, int, int]:
    """(intents, charges, balance transactions) made for the UPI transaction id."""
    async with database.unit_of_work() as session:
        row = (
            await session.execute(
                text(
                    "SELECT"
                    " (SELECT count(*) FROM payment_intents"
                    "  WHERE metadata->>'upi_transaction_id' = :id),"
                    " (SELECT count(*) FROM charges c"
                    "  WHERE c.metadata->>'upi_transaction_id' = :id),"
                    " (SELECT count(*) FROM balance_transactions b JOIN charges c"
                    "  ON b.source = c.id WHERE c.metadata->>'upi_transaction_id' = :id)"
                ),
                {"id": transaction_id},
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


async def test_two_connections_telling_one_credit_at_once_make_one_payment(
    merchant: TestMerchant, database: Database
) -> None:
    """The first delivery has claimed the credit and not committed when the second, on another
    connection, claims it too: the second waits, then finds the first's payment."""
    credit = _credit(merchant, _upi_transaction_id(), 75_00)
    claimed = asyncio.Event()

    async def first() -> str:
        async with database.unit_of_work() as session:
            intent = await record_upi_credit(session, credit)
            claimed.set()
            await asyncio.sleep(0.3)  # the second is waiting on the claim meanwhile
            return intent.id

    async def second() -> str:
        await claimed.wait()
        async with database.unit_of_work() as session:
            return (await record_upi_credit(session, credit)).id

    ids = await asyncio.gather(first(), second())
    assert ids[0] == ids[1]
    assert await _counts(database, credit.upi_transaction_id) == (1, 1, 1)

    # And told by many connections at once, with no order imposed: one payment.
    racing = _credit(merchant, _upi_transaction_id(), 12_00)

    async def deliver() -> str:
        async with database.unit_of_work() as session:
            return (await record_upi_credit(session, racing)).id

    assert len(set(await asyncio.gather(*(deliver() for _ in range(DELIVERIES_RACING))))) == 1
    assert await _counts(database, racing.upi_transaction_id) == (1, 1, 1)
    async with database.unit_of_work() as session:
        report = await ledger_service.verify_journal(session)
    assert report.ok, report


async def test_a_paid_qr_is_refunded_to_the_payer(
    client: httpx.AsyncClient, merchant: TestMerchant
) -> None:
    asha = await ready_payer(client)
    await _paid_qr(client, merchant, asha, 300_00, amount=300_00, tr="ORDER-10")
    [charge] = (await _books(client, merchant))["charges"]

    refund = await client.post(
        "/v1/refunds", data={"charge": charge["id"], "amount": "10000"}, headers=merchant.auth()
    )
    assert refund.status_code == 200, refund.text
    assert refund.json()["status"] == "succeeded"
    assert await balance(client, asha) == OPENING_BALANCE - 300_00 + 100_00
    refunded = await get(client, merchant, f"/v1/charges/{charge['id']}")
    assert refunded["amount_refunded"] == 100_00
    balances, sums = await balance_and_transactions(client, merchant)
    assert balances == sums
