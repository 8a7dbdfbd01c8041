"""Two credit notes for the last rupee an invoice has left to credit, at once, over real
connections: the invoice's row lock makes them one at a time, so one is issued and the other is
refused with a 400 naming ``amount``, whichever comes first; the customer's balance and its
ledger account count the credit once. The ledger is verified after the test
(tests/conftest.py)."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.billing.credit_notes.support import plain_invoice
from tests.billing.credit_notes.test_balance import ledger_balance
from tests.billing.invoices.support import ok
from tests.payments.support import get, post
from tests.support import TestMerchant

ROUNDS = 3


async def test_two_credit_notes_for_the_last_rupee_issue_one(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    for round_ in range(ROUNDS):
        invoice = await plain_invoice(client, merchant, (10_000,))
        # All but the last rupee credited first.
        await ok(
            await post(client, merchant, "/v1/credit_notes", invoice=invoice["id"], amount=9_900)
        )
        responses = await asyncio.gather(
            *(
                client.post(
                    "/v1/credit_notes",
                    data={"invoice": invoice["id"], "amount": 100},
                    headers={**merchant.auth(), "Idempotency-Key": f"race-{round_}-{tab}"},
                )
                for tab in range(2)
            )
        )
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [200, 400], [response.text for response in responses]
        loser = next(response for response in responses if response.status_code == 400)
        assert loser.json()["error"]["param"] == "amount"
        async with database.unit_of_work() as session:
            issued = await session.execute(
                text(
                    "SELECT count(*), sum(total) FROM credit_notes"
                    " WHERE invoice_id = :id AND status = 'issued'"
                ),
                {"id": invoice["id"]},
            )
            assert tuple(issued.one()) == (2, 10_000)
        found = await get(client, merchant, f"/v1/invoices/{invoice['id']}")
        assert found["post_payment_credit_notes_amount"] == 10_000
        customer = await get(client, merchant, f"/v1/customers/{invoice['customer']}")
        assert customer["balance"] == -10_000
        assert await ledger_balance(database, invoice["customer"]) == -10_000
