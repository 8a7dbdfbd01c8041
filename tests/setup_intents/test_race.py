"""Two confirmations of one SetupIntent race over real connections: the intent's row lock
lets one through, so one attempt reaches the card network and one setup succeeds. The other
finds the intent busy with the network (``lock_timeout``, 429, which Stripe's SDKs retry) or
already succeeded (400)."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from tests.payments.support import post
from tests.support import TestMerchant

CONFIRMS_RACING = 2
ROUNDS = 5


async def test_two_concurrent_confirms_of_one_setup_intent_verify_once(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> None:
    for round_ in range(ROUNDS):
        created = await post(client, merchant, "/v1/setup_intents", payment_method="pm_card_visa")
        intent = created.json()["id"]
        responses = await asyncio.gather(
            *(
                client.post(
                    f"/v1/setup_intents/{intent}/confirm",
                    headers={**merchant.auth(), "Idempotency-Key": f"confirm-{round_}-{index}"},
                )
                for index in range(CONFIRMS_RACING)
            )
        )
        statuses = sorted(response.status_code for response in responses)
        assert statuses in ([200, 400], [200, 429]), [response.text for response in responses]
        loser = next(response for response in responses if response.status_code != 200)
        expected = {400: "setup_intent_unexpected_state", 429: "lock_timeout"}
        assert loser.json()["error"]["code"] == expected[loser.status_code]
        async with database.unit_of_work() as session:
            verifications = (
                await session.execute(
                    text(
                        "SELECT count(*) FROM sandbox_rail_operations o JOIN setup_intents s"
                        " ON o.request_id = s.latest_attempt_id"
                        " WHERE s.id = :id AND o.operation = 'verify'"
                    ),
                    {"id": intent},
                )
            ).scalar_one()
            succeeded = (
                await session.execute(
                    text(
                        "SELECT count(*) FROM events WHERE object_id = :id"
                        " AND type = 'setup_intent.succeeded'"
                    ),
                    {"id": intent},
                )
            ).scalar_one()
            all_verifications = (
                await session.execute(
                    text(
                        "SELECT count(*) FROM sandbox_rail_operations"
                        " WHERE merchant_id = :merchant AND operation = 'verify'"
                    ),
                    {"merchant": merchant.id},
                )
            ).scalar_one()
        assert (verifications, succeeded) == (1, 1)
        assert all_verifications == round_ + 1
