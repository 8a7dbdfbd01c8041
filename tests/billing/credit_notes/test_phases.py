"""A credit note's refund holds no row of ours while the card network answers: the credit note
commits with its refund pending at refunds' recovery point, before the rail is asked. A request
that dies between the phases, retried with its Idempotency-Key once the lease has passed,
answers the same credit note with its refund finished, refunded once. The ledger is verified
after the test (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Final

import httpx
import pytest
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.kit.settings import Settings
from beyondpay.refunds.tasks import reconcile_due_refunds
from tests.billing.credit_notes.support import plain_invoice
from tests.payments.support import get
from tests.support import TestMerchant, app_client

CARD_LATENCY_MS: Final = 1_000
# Past the idempotency lease (``rail_answer_wait_s``), as tests/refunds/test_phases.py waits.
AFTER_THE_LEASE: Final = timedelta(seconds=31)
WAIT_STEPS: Final = 500


@pytest.fixture
async def slow_card_client(
    database_url: str, api_settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(
        database_url, api_settings, sandbox_card_latency_ms=str(CARD_LATENCY_MS)
    ) as http:
        yield http


async def _committed_note(database: Database, invoice_id: str) -> str:
    """The credit note of ``invoice_id`` once refunds' first phase committed it."""
    for _ in range(WAIT_STEPS):
        async with database.unit_of_work() as session:
            found = (
                await session.execute(
                    text("SELECT id FROM credit_notes WHERE invoice_id = :id"), {"id": invoice_id}
                )
            ).scalar()
        if found is not None:
            return str(found)
        await asyncio.sleep(0.01)
    raise AssertionError("the credit note never reached its refund's rail")


async def _counts(database: Database, invoice_id: str) -> tuple[int, int]:
    async with database.unit_of_work() as session:
        found = await session.execute(
            text(
                "SELECT (SELECT count(*) FROM credit_notes WHERE invoice_id = :id),"
                " (SELECT count(*) FROM sandbox_rail_operations WHERE operation = 'refund')"
            ),
            {"id": invoice_id},
        )
        notes, refunds = found.one()
        return int(notes), int(refunds)


async def _killed(
    http: httpx.AsyncClient,
    merchant: TestMerchant,
    database: Database,
    data: dict[str, str],
    headers: dict[str, str],
) -> str:
    """The id of the credit note whose request died while its refund was with the rail."""
    issuing = asyncio.create_task(http.post("/v1/credit_notes", data=data, headers=headers))
    note_id = await _committed_note(database, data["invoice"])
    issuing.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await issuing
    return note_id


async def test_a_credit_note_killed_while_its_refund_is_asked_is_finished_by_its_retry(
    slow_card_client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    http = slow_card_client
    invoice = await plain_invoice(http, merchant, (10_000,))
    data = {"invoice": invoice["id"], "amount": "4000", "refund_amount": "4000"}
    headers = {**merchant.auth(), "Idempotency-Key": "credit-note-killed"}
    note_id = await _killed(http, merchant, database, data, headers)
    within = await http.post("/v1/credit_notes", data=data, headers=headers)
    assert within.status_code == 409, within.text  # taken to be still running
    with use_clock(FrozenClock(datetime.now(UTC) + AFTER_THE_LEASE)):
        resumed = await http.post("/v1/credit_notes", data=data, headers=headers)
        replayed = await http.post("/v1/credit_notes", data=data, headers=headers)
    assert resumed.status_code == 200, resumed.text
    note = resumed.json()
    assert note["id"] == note_id and replayed.content == resumed.content
    [refunded] = note["refunds"]
    refund = await get(http, merchant, f"/v1/refunds/{refunded['refund']}")
    assert (refund["amount"], refund["status"]) == (4_000, "succeeded")
    assert await _counts(database, invoice["id"]) == (1, 1)


async def test_a_credit_note_never_retried_shows_the_refund_the_status_job_finished(
    slow_card_client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    http = slow_card_client
    invoice = await plain_invoice(http, merchant, (10_000,))
    data = {"invoice": invoice["id"], "amount": "3000", "refund_amount": "3000"}
    headers = {**merchant.auth(), "Idempotency-Key": "credit-note-abandoned"}
    note_id = await _killed(http, merchant, database, data, headers)
    with use_clock(FrozenClock(datetime.now(UTC) + AFTER_THE_LEASE)):
        assert await reconcile_due_refunds(database) == 1
    note = await get(http, merchant, f"/v1/credit_notes/{note_id}")
    [refunded] = note["refunds"]
    refund = await get(http, merchant, f"/v1/refunds/{refunded['refund']}")
    assert (refund["amount"], refund["status"]) == (3_000, "succeeded")
    assert refund["metadata"] == {"credit_note": note_id}
    assert await _counts(database, invoice["id"]) == (1, 1)
