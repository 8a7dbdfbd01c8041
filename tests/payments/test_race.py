"""Two confirmations of one intent race: the intent's row lock lets one through, so there is
one charge and the money moves once. The other finds the intent either busy with the rail
(``lock_timeout``, 429, which Stripe's SDKs retry) or already succeeded (400)."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.payments.support import balance_and_transactions, post
from tests.support import TestMerchant

CONFIRMS_RACING = 2


async def test_two_concurrent_confirms_of_one_intent_make_one_charge(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    for round_ in range(5):
        created = await post(
            client,
            merchant,
            "/v1/payment_intents",
            amount=5_000,
            currency="inr",
            payment_method="pm_card_visa",
        )
        intent = created.json()["id"]
        responses = await asyncio.gather(
            *(
                client.post(
                    f"/v1/payment_intents/{intent}/confirm",
                    headers={**merchant.auth(), "Idempotency-Key": f"confirm-{round_}-{index}"},
                )
                for index in range(CONFIRMS_RACING)
            )
        )
        statuses = sorted(response.status_code for response in responses)
        assert statuses in ([200, 400], [200, 429]), [response.text for response in responses]
        loser = next(response for response in responses if response.status_code != 200)
        assert (
            loser.json()["error"]["code"]
            == {
                400: "payment_intent_unexpected_state",
                429: "lock_timeout",
            }[loser.status_code]
        )
        async with database.unit_of_work() as session:
            charges = (
                await session.execute(
                    text("SELECT count(*) FROM charges WHERE payment_intent_id = :id"),
                    {"id": intent},
                )
            ).scalar_one()
        assert charges == 1
    balance, sums = await balance_and_transactions(client, merchant)
    assert balance == sums == {"available": 0, "pending": 5 * (5_000 - 100)}
