"""The same invoice paid twice at once charges once (issue 18, "Checked by": two tabs, an
automatic retry). Over real connections, with a card network slow enough (300 ms) that the
attempts overlap: two ``POST /v1/invoices/{id}/pay`` at once, and a pay racing the automatic
collection job. One charge succeeds; the other attempt finds the PaymentIntent busy with the
rail (``429 lock_timeout``, which Stripe's SDKs retry) or the invoice paid (``400
invoice_already_paid``). The ledger is verified after each test (tests/conftest.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from sqlalchemy import text

from beyondpay.billing.invoices.collection import collect_on
from beyondpay.db.session import Database
from beyondpay.kit.settings import Settings
from tests.billing.invoices.support import customer, draft, ok, queued
from tests.payments.support import get, post
from tests.support import TestMerchant, app_client

ROUNDS = 3
SLOW_CARD_MS = "300"


async def _paid_once(database: Database, invoice_id: str) -> None:
    async with database.unit_of_work() as session:
        found = (
            await session.execute(
                text(
                    "SELECT"
                    " (SELECT count(*) FROM charges c"
                    "  WHERE c.payment_intent_id = i.payment_intent_id AND c.status = 'succeeded'),"
                    " (SELECT count(*) FROM charges c"
                    "  WHERE c.payment_intent_id = i.payment_intent_id),"
                    " (SELECT count(*) FROM events e"
                    "  WHERE e.object_id = i.id AND e.type = 'invoice.paid'),"
                    " i.status, i.amount_paid, i.amount_due"
                    " FROM invoices i WHERE i.id = :id"
                ),
                {"id": invoice_id},
            )
        ).one()
    succeeded, charges, paid_events, status, amount_paid, amount_due = found
    assert (succeeded, charges, paid_events) == (1, 1, 1), found
    assert status == "paid" and amount_paid == amount_due


def _loser(response: httpx.Response) -> None:
    expected = {400: "invoice_already_paid", 429: "lock_timeout"}
    assert response.status_code in expected, response.text
    assert response.json()["error"]["code"] == expected[response.status_code]


async def test_two_concurrent_pays_of_one_invoice_charge_once(
    database_url: str, api_settings: Settings, merchant: TestMerchant, database: Database
) -> None:
    async with app_client(
        database_url, api_settings, sandbox_card_latency_ms=SLOW_CARD_MS
    ) as client:
        buyer = await customer(client, merchant)
        for round_ in range(ROUNDS):
            invoice = await draft(client, merchant, buyer["id"], (10_000 + round_,))
            await ok(await post(client, merchant, f"/v1/invoices/{invoice['id']}/finalize"))
            responses = await asyncio.gather(
                *(
                    client.post(
                        f"/v1/invoices/{invoice['id']}/pay",
                        headers={**merchant.auth(), "Idempotency-Key": f"pay-{round_}-{tab}"},
                    )
                    for tab in range(2)
                )
            )
            statuses = sorted(response.status_code for response in responses)
            assert statuses in ([200, 400], [200, 429]), [r.text for r in responses]
            winner = next(response for response in responses if response.status_code == 200)
            assert winner.json()["status"] == "paid"
            _loser(next(response for response in responses if response.status_code != 200))
            await _paid_once(database, invoice["id"])


async def test_a_pay_racing_the_automatic_collection_charges_once(
    database_url: str, api_settings: Settings, merchant: TestMerchant, database: Database
) -> None:
    async with app_client(
        database_url, api_settings, sandbox_card_latency_ms=SLOW_CARD_MS
    ) as client:
        buyer = await customer(client, merchant)
        for round_ in range(ROUNDS):
            invoice = await draft(client, merchant, buyer["id"], (20_000 + round_,))
            # Finalized with auto_advance: its first automatic collection is queued.
            await ok(
                await post(
                    client, merchant, f"/v1/invoices/{invoice['id']}/finalize", auto_advance="true"
                )
            )
            (job,) = [
                args
                for args in await queued(database, "invoices:collect")
                if args["invoice"] == invoice["id"]
            ]
            assert job["attempt"] == 1
            pay: Any = client.post(
                f"/v1/invoices/{invoice['id']}/pay",
                headers={**merchant.auth(), "Idempotency-Key": f"tab-{round_}"},
            )
            answered, _ = await asyncio.gather(pay, collect_on(database, invoice["id"], 1))
            if answered.status_code != 200:
                _loser(answered)
            # The job run again (a worker died after the first) does nothing more.
            await collect_on(database, invoice["id"], 1)
            await _paid_once(database, invoice["id"])
            final = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
            assert final["status"] == "paid" and final["attempt_count"] == 1
