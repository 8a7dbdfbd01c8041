"""Paying end to end over HTTP: a payer app signs up, binds its device, links a bank account,
sets the PIN, creates a VPA and pays another payer through the sandbox UPI switch; both sandbox
bank balances move, the receipt carries NPCI's identifiers, and the history pages by keyset.
(The ledger is verified after every test by the database fixture.)"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock, utcnow
from tests.psp.support import post, random_mobile
from tests.psp.transfers_support import PIN, balance, pay, ready_payer

UPI_TRANSACTION_ID = re.compile(r"^[A-Z]{3}[A-Z0-9]{32}$")
RRN = re.compile(r"^[0-9]{12}$")
OPENING_BALANCE = 1_00_000_00


async def test_a_payer_pays_another_by_vpa_and_both_bank_balances_move(
    client: httpx.AsyncClient, database: Database
) -> None:
    asha = await ready_payer(client, name="Asha Rao")
    ravi = await ready_payer(client, name="Ravi Kumar", bank="sbx2")

    review = await post(
        client,
        "/v1/psp/payments/review",
        {"vpa": ravi.vpa, "amount": 1_500_00},
        headers=asha.headers,
    )
    assert review.status_code == 200, review.text
    assert review.json()["payee"]["name"] == "Ravi Kumar"
    assert ravi.vpa not in review.text  # the preview shows the masked address
    # The device was bound a moment ago: the new-device cap is what is left to pay today.
    assert review.json()["limits"]["new_device_amount_remaining"] == 5_000_00
    assert review.json()["limits"]["p2p_daily_amount_remaining"] == 1_00_000_00

    answer = await pay(client, asha, 1_500_00, vpa=ravi.vpa, note="chai")
    assert answer.status_code == 200, answer.text
    receipt = answer.json()
    assert receipt["status"] == "succeeded"
    assert receipt["npci_code"] == "00"
    assert UPI_TRANSACTION_ID.match(receipt["upi_transaction_id"])
    assert RRN.match(receipt["rrn"])
    assert receipt["payee"]["name"] == "Ravi Kumar"
    assert receipt["direction"] == "sent"

    assert await balance(client, asha) == OPENING_BALANCE - 1_500_00
    assert await balance(client, ravi) == OPENING_BALANCE + 1_500_00

    received = await client.get(
        "/v1/psp/transactions", params={"direction": "received"}, headers=ravi.headers
    )
    assert received.status_code == 200, received.text
    [seen] = received.json()["data"]
    assert seen["id"] == receipt["id"]
    assert seen["direction"] == "received"
    assert seen["payer"]["name"] == "Asha Rao"
    assert seen["client_request_id"] is None and seen["bank_account"] is None

    async with database.unit_of_work() as session:
        types = {
            (str(row[0]), str(row[1]))
            for row in await session.execute(
                text("SELECT merchant_id, type FROM events WHERE type LIKE 'psp.transaction.%'")
            )
        }
    assert (asha.payer.payer_id, "psp.transaction.succeeded") in types
    assert (ravi.payer.payer_id, "psp.transaction.received") in types


async def test_the_same_client_request_id_pays_once_and_other_terms_are_refused(
    client: httpx.AsyncClient,
) -> None:
    asha = await ready_payer(client)
    ravi = await ready_payer(client, name="Ravi Kumar")
    request_id = uuid.uuid4().hex
    first = await pay(client, asha, 1_000_00, vpa=ravi.vpa, request_id=request_id)
    again = await pay(client, asha, 1_000_00, vpa=ravi.vpa, request_id=request_id)
    assert first.status_code == again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert await balance(client, ravi) == OPENING_BALANCE + 1_000_00

    other = await pay(client, asha, 2_000_00, vpa=ravi.vpa, request_id=request_id)
    assert other.status_code == 400, other.text
    assert other.json()["error"]["code"] == "client_request_id_reused"


async def test_a_wrong_pin_pays_nothing(client: httpx.AsyncClient) -> None:
    asha = await ready_payer(client)
    ravi = await ready_payer(client, name="Ravi Kumar")
    answer = await pay(client, asha, 1_000_00, vpa=ravi.vpa, pin="9731")
    assert answer.status_code == 402, answer.text
    assert answer.json()["error"]["npci_code"] == "ZM"
    assert await balance(client, ravi) == OPENING_BALANCE
    listed = await client.get("/v1/psp/transactions", headers=asha.headers)
    assert listed.json()["data"] == []


async def test_three_wrong_pins_through_pay_lock_the_pin(client: httpx.AsyncClient) -> None:
    """Each wrong PIN is counted and committed though the payment is refused, so guessing
    through pay stops at the third try (Z6), and then the right PIN is refused too."""
    asha = await ready_payer(client)
    ravi = await ready_payer(client, name="Ravi Kumar")
    codes = [
        (await pay(client, asha, 100_00, vpa=ravi.vpa, pin=wrong)).json()["error"]["npci_code"]
        for wrong in ("9731", "8642", "7531")
    ]
    assert codes[:2] == ["ZM", "ZM"]
    assert codes[2] in ("ZM", "Z6")
    locked = await pay(client, asha, 100_00, vpa=ravi.vpa)
    assert locked.status_code == 402, locked.text
    assert locked.json()["error"]["npci_code"] == "Z6"
    assert await balance(client, ravi) == OPENING_BALANCE


async def test_a_new_device_is_held_to_the_new_device_limit_for_a_day(
    client: httpx.AsyncClient,
) -> None:
    asha = await ready_payer(client)
    ravi = await ready_payer(client, name="Ravi Kumar")
    assert (await pay(client, asha, 4_000_00, vpa=ravi.vpa)).status_code == 200
    over = await pay(client, asha, 1_500_00, vpa=ravi.vpa)
    assert over.status_code == 402, over.text
    error = over.json()["error"]
    assert (error["code"], error["npci_code"]) == ("new_device_limit_exceeded", "Z8")
    assert "24 hours" in error["message"]


async def test_the_switch_refuses_what_the_account_cannot_afford_with_a_failed_receipt(
    client: httpx.AsyncClient,
) -> None:
    # A mobile number ending in 1 opens its sandbox accounts with ₹500.
    poor = await ready_payer(client, mobile=random_mobile()[:-1] + "1")
    ravi = await ready_payer(client, name="Ravi Kumar")
    answer = await pay(client, poor, 600_00, vpa=ravi.vpa)
    # A decline, as Stripe answers a declined card: 402 card_error, the failed receipt beside.
    assert answer.status_code == 402, answer.text
    error = answer.json()["error"]
    assert (error["type"], error["decline_code"], error["npci_code"]) == ("card_error", "Z9", "Z9")
    receipt = error["transaction"]
    assert (receipt["status"], receipt["npci_code"]) == ("failed", "Z9")
    assert error["code"] == receipt["failure_code"]
    assert error["message"] == receipt["failure_message"]
    assert RRN.match(receipt["rrn"])
    kept = await client.get(f"/v1/psp/transactions/{receipt['id']}", headers=poor.headers)
    assert kept.json() == receipt
    assert await balance(client, poor) == 500_00
    assert await balance(client, ravi) == OPENING_BALANCE
    # A refused payment does not count toward the limits: the whole ₹500 can still be paid.
    assert (await pay(client, poor, 500_00, vpa=ravi.vpa)).json()["status"] == "succeeded"


async def test_history_pages_by_keyset(client: httpx.AsyncClient) -> None:
    asha = await ready_payer(client)
    ravi = await ready_payer(client, name="Ravi Kumar")
    ids = []
    for amount in (100_00, 200_00, 300_00, 400_00, 500_00):
        answer = await pay(client, asha, amount, vpa=ravi.vpa)
        assert answer.status_code == 200, answer.text
        ids.append(answer.json()["id"])
    seen: list[str] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["starting_after"] = cursor
        page = await client.get("/v1/psp/transactions", params=params, headers=asha.headers)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [item["id"] for item in body["data"]]
        if not body["has_more"]:
            break
        cursor = body["data"][-1]["id"]
    assert seen == list(reversed(ids))
    failed = await client.get(
        "/v1/psp/transactions", params={"status": "failed"}, headers=asha.headers
    )
    assert failed.json()["data"] == []
    one = await client.get(f"/v1/psp/transactions/{ids[0]}", headers=ravi.headers)
    assert one.status_code == 200 and one.json()["direction"] == "received"
    stranger = await ready_payer(client, name="Meera Iyer")
    hidden = await client.get(f"/v1/psp/transactions/{ids[0]}", headers=stranger.headers)
    assert hidden.status_code == 404


async def test_a_frozen_payer_cannot_pay(client: httpx.AsyncClient) -> None:
    asha = await ready_payer(client)
    ravi = await ready_payer(client, name="Ravi Kumar")
    frozen = await post(client, "/v1/psp/freeze", {}, headers=asha.headers)
    assert frozen.status_code == 200, frozen.text
    answer = await pay(client, asha, 100_00, vpa=ravi.vpa)
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"]["code"] == "payer_frozen"
    assert await balance(client, ravi) == OPENING_BALANCE


async def test_collect_requests_are_approved_declined_and_expire(
    client: httpx.AsyncClient,
) -> None:
    asha = await ready_payer(client)
    ravi = await ready_payer(client, name="Ravi Kumar")

    async def ask(amount: int) -> dict[str, str]:
        made = await post(
            client,
            "/v1/psp/collect_requests",
            {"vpa": asha.vpa, "amount": amount, "note": "dinner", "expires_in_s": 600},
            headers=ravi.headers,
        )
        assert made.status_code == 200, made.text
        assert made.json()["status"] == "pending"
        return dict(made.json())

    approved, declined, expiring = await ask(500_00), await ask(300_00), await ask(200_00)
    pending = await client.get(
        "/v1/psp/collect_requests", params={"status": "pending"}, headers=asha.headers
    )
    assert {item["id"] for item in pending.json()["data"]} == {
        approved["id"],
        declined["id"],
        expiring["id"],
    }
    assert all(item["requester"]["name"] == "Ravi Kumar" for item in pending.json()["data"])

    paid = await post(
        client,
        f"/v1/psp/collect_requests/{approved['id']}/approve",
        {"pin": PIN},
        headers=asha.headers,
    )
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "paid" and paid.json()["npci_code"] == "00"
    again = await post(
        client,
        f"/v1/psp/collect_requests/{approved['id']}/approve",
        {"pin": PIN},
        headers=asha.headers,
    )
    assert again.status_code == 400 and again.json()["error"]["code"] == (
        "collect_request_not_pending"
    )
    assert await balance(client, ravi) == OPENING_BALANCE + 500_00

    no = await post(
        client, f"/v1/psp/collect_requests/{declined['id']}/decline", {}, headers=asha.headers
    )
    assert no.status_code == 200, no.text
    assert no.json()["status"] == "declined" and no.json()["npci_code"] == "ZA"

    with use_clock(FrozenClock(utcnow() + timedelta(seconds=601))):
        late = await post(
            client,
            f"/v1/psp/collect_requests/{expiring['id']}/approve",
            {"pin": PIN},
            headers=asha.headers,
        )
        assert late.status_code == 400, late.text
        assert late.json()["error"]["npci_code"] == "U69"
        seen = await client.get(f"/v1/psp/collect_requests/{expiring['id']}", headers=ravi.headers)
        assert seen.json()["status"] == "expired" and seen.json()["npci_code"] == "U69"
    assert await balance(client, asha) == OPENING_BALANCE - 500_00


async def test_a_person_can_be_asked_for_at_most_two_thousand_rupees(
    client: httpx.AsyncClient,
) -> None:
    asha = await ready_payer(client)
    ravi = await ready_payer(client, name="Ravi Kumar")
    answer = await post(
        client,
        "/v1/psp/collect_requests",
        {"vpa": asha.vpa, "amount": 2_000_01},
        headers=ravi.headers,
    )
    assert answer.status_code == 402, answer.text
    assert answer.json()["error"]["npci_code"] == "Z8"
