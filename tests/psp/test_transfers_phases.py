"""A payment holds no row of ours while the UPI switch answers: its first phase (PIN, limits,
the transfer written pending) commits before the switch is asked, and the answer is applied in a
second short transaction. Meanwhile the payer's PIN row and day counter are free; a payment whose
process dies between the phases is finished once, by the reconciliation job or the payer's
retry of the same request."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Final

import httpx
import pytest
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.settings import Settings
from beyondpay.ledger.service import ledger_service
from beyondpay.psp.transfers.tasks import reconcile_unanswered
from beyondpay.rails.service import PushRequest, upi_push
from tests.psp.support import post
from tests.psp.transfers_support import balance, pay, ready_payer
from tests.support import app_client

UPI_LATENCY_MS: Final = 2_000
# What "not blocked" means on a loaded 2-core machine: well under the switch's latency.
NOT_BLOCKED_S: Final = 1.2
OPENING_BALANCE: Final = 1_00_000_00
AMOUNT: Final = 100_00


@pytest.fixture
async def slow_upi_client(
    database_url: str, api_settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """The API with a UPI switch that takes UPI_LATENCY_MS to answer."""
    async with app_client(
        database_url, api_settings, sandbox_upi_latency_ms=str(UPI_LATENCY_MS)
    ) as http:
        yield http


async def _pending(database: Database, payer_id: str, count: int = 1) -> list[dict[str, Any]]:
    """The payer's pending transfers, once ``count`` of them committed their first phase."""
    for _ in range(500):
        async with database.unit_of_work() as session:
            rows = (
                await session.execute(
                    text(
                        "SELECT id, payer_account_ref, payee_account_ref, amount_minor, note"
                        " FROM psp_transfers WHERE payer_id = :payer AND status = 'pending'"
                        " ORDER BY created_at"
                    ),
                    {"payer": payer_id},
                )
            ).mappings()
            found = [dict(row) for row in rows]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.01)
    raise AssertionError("the payment never reached the switch")


async def _killed(task: asyncio.Task[Any]) -> None:
    """The request dies while the switch is asked, as if its process were killed."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _ledger_verified(database: Database) -> None:
    async with database.unit_of_work() as session:
        report = await ledger_service.verify_journal(session)
    assert report.ok, report


async def test_a_payers_rows_are_free_while_the_switch_answers(
    slow_upi_client: httpx.AsyncClient, database: Database
) -> None:
    http = slow_upi_client
    asha = await ready_payer(http)
    ravi = await ready_payer(http, name="Ravi Kumar", bank="sbx2")
    first = asyncio.create_task(pay(http, asha, AMOUNT, vpa=ravi.vpa))
    await _pending(database, asha.payer.payer_id)
    started = time.monotonic()
    # A balance inquiry locks Asha's PIN row; a second payment her PIN row and day counter.
    during = await balance(http, asha)
    second = asyncio.create_task(pay(http, asha, 2 * AMOUNT, vpa=ravi.vpa))
    await _pending(database, asha.payer.payer_id, count=2)
    elapsed_s = time.monotonic() - started
    assert not first.done()
    assert elapsed_s < NOT_BLOCKED_S, elapsed_s
    assert during == OPENING_BALANCE  # asked of the switch, not moved yet
    shown = await http.get(
        "/v1/psp/transactions", params={"status": "pending"}, headers=asha.headers
    )
    assert len(shown.json()["data"]) == 2
    assert {item["npci_code"] for item in shown.json()["data"]} == {None}
    answers = [await first, await second]
    assert [answer.json()["status"] for answer in answers] == ["succeeded", "succeeded"]
    assert await balance(http, asha) == OPENING_BALANCE - 3 * AMOUNT
    assert await balance(http, ravi) == OPENING_BALANCE + 3 * AMOUNT


async def test_a_payment_killed_between_its_phases_is_finished_once_by_reconciliation(
    slow_upi_client: httpx.AsyncClient, database: Database
) -> None:
    http = slow_upi_client
    asha = await ready_payer(http)
    ravi = await ready_payer(http, name="Ravi Kumar")
    request_id = uuid.uuid4().hex
    paying = asyncio.create_task(pay(http, asha, AMOUNT, vpa=ravi.vpa, request_id=request_id))
    [asked] = await _pending(database, asha.payer.payer_id)
    await _killed(paying)
    receipt = await http.get(f"/v1/psp/transactions/{asked['id']}", headers=asha.headers)
    assert receipt.json()["status"] == "pending" and receipt.json()["rrn"] is None
    # Ravi sees nothing of a payment that has not reached him.
    theirs = await http.get(f"/v1/psp/transactions/{asked['id']}", headers=ravi.headers)
    assert theirs.status_code == 404
    assert await balance(http, asha) == OPENING_BALANCE
    assert await reconcile_unanswered(database, older_than_s=0) == 1
    receipt = await http.get(f"/v1/psp/transactions/{asked['id']}", headers=asha.headers)
    assert receipt.json()["status"] == "succeeded" and receipt.json()["npci_code"] == "00"
    # The payer's retry of the same request answers the same receipt and moves nothing more.
    retried = await pay(http, asha, AMOUNT, vpa=ravi.vpa, request_id=request_id)
    assert retried.status_code == 200 and retried.json()["id"] == asked["id"]
    assert await reconcile_unanswered(database, older_than_s=0) == 0
    assert await balance(http, asha) == OPENING_BALANCE - AMOUNT
    assert await balance(http, ravi) == OPENING_BALANCE + AMOUNT
    await _ledger_verified(database)


async def test_a_payment_whose_answer_was_never_applied_is_finished_once_by_its_retry(
    slow_upi_client: httpx.AsyncClient, database: Database
) -> None:
    """The switch moved the money, but the process died before applying its answer: the
    retry asks again with the same request id, gets the stored answer, and applies it."""
    http = slow_upi_client
    asha = await ready_payer(http)
    ravi = await ready_payer(http, name="Ravi Kumar", bank="sbx2")
    request_id = uuid.uuid4().hex
    paying = asyncio.create_task(pay(http, asha, AMOUNT, vpa=ravi.vpa, request_id=request_id))
    [asked] = await _pending(database, asha.payer.payer_id)
    await _killed(paying)
    async with database.sessionmaker() as session:  # the switch did its part
        moved = await upi_push(
            session,
            PushRequest(
                request_id=asked["id"],
                payer_account_ref=asked["payer_account_ref"],
                payee_account_ref=asked["payee_account_ref"],
                amount_minor=asked["amount_minor"],
                currency="inr",
                note=asked["note"],
            ),
        )
    assert moved.status == "succeeded"
    assert await balance(http, ravi) == OPENING_BALANCE + AMOUNT
    answers = await asyncio.gather(
        *(pay(http, asha, AMOUNT, vpa=ravi.vpa, request_id=request_id) for _ in range(3))
    )
    assert {answer.json()["id"] for answer in answers} == {asked["id"]}
    assert {answer.json()["status"] for answer in answers} == {"succeeded"}
    assert {answer.json()["rrn"] for answer in answers} == {moved.details["rrn"]}
    assert await balance(http, asha) == OPENING_BALANCE - AMOUNT
    assert await balance(http, ravi) == OPENING_BALANCE + AMOUNT
    await _ledger_verified(database)


async def test_a_collect_approval_killed_between_its_phases_is_paid_once(
    slow_upi_client: httpx.AsyncClient, database: Database
) -> None:
    http = slow_upi_client
    asha = await ready_payer(http)
    ravi = await ready_payer(http, name="Ravi Kumar")
    asked = await post(
        http, "/v1/psp/collect_requests", {"vpa": asha.vpa, "amount": 500_00}, headers=ravi.headers
    )
    assert asked.status_code == 200, asked.text
    collect_id = asked.json()["id"]
    path = f"/v1/psp/collect_requests/{collect_id}"
    approving = asyncio.create_task(
        post(http, f"{path}/approve", {"pin": "2580"}, headers=asha.headers)
    )
    [transfer] = await _pending(database, asha.payer.payer_id)
    await _killed(approving)
    declined = await post(http, f"{path}/decline", headers=asha.headers)
    assert declined.status_code == 400, declined.text  # being paid: the answer decides
    assert await reconcile_unanswered(database, older_than_s=0) == 1
    collect = (await http.get(path, headers=ravi.headers)).json()
    assert (collect["status"], collect["transaction"]) == ("paid", transfer["id"])
    again = await post(http, f"{path}/approve", {"pin": "2580"}, headers=asha.headers)
    assert again.status_code == 400, again.text
    assert await balance(http, asha) == OPENING_BALANCE - 500_00
    assert await balance(http, ravi) == OPENING_BALANCE + 500_00
    await _ledger_verified(database)
