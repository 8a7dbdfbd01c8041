"""One session paid twice at once (two tabs) charges once (issue 19, "Checked by"); a payment
racing the session's expiry either pays it or finds it expired, never both. Over real
connections, with a card network slow enough (300 ms) that the attempts overlap. The ledger is
verified after each test (tests/conftest.py)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from beyondpay.checkout.service import expire_on
from beyondpay.db.session import Database
from beyondpay.kit.settings import Settings
from tests.checkout.support import card, events_of, page, path_of, session
from tests.payments.support import get
from tests.support import TestMerchant, app_client

ROUNDS = 3
SLOW_CARD_MS = "300"


async def _charges(database: Database, intent_id: str | None) -> tuple[int, int]:
    """(succeeded charges, all charges) of the intent."""
    if intent_id is None:
        return 0, 0
    async with database.unit_of_work() as db:
        found = (
            await db.execute(
                text(
                    "SELECT count(*) FILTER (WHERE status = 'succeeded'), count(*)"
                    " FROM charges WHERE payment_intent_id = :id"
                ),
                {"id": intent_id},
            )
        ).one()
    return int(found[0]), int(found[1])


async def _intents_of(database: Database, session_id: str) -> int:
    async with database.unit_of_work() as db:
        return int(
            (
                await db.execute(
                    text(
                        "SELECT count(*) FROM payment_intents"
                        " WHERE metadata->>'checkout_session' = :id"
                    ),
                    {"id": session_id},
                )
            ).scalar_one()
        )


async def test_one_session_paid_in_two_tabs_at_once_charges_once(
    database_url: str, api_settings: Settings, merchant: TestMerchant, database: Database
) -> None:
    async with app_client(
        database_url, api_settings, sandbox_card_latency_ms=SLOW_CARD_MS
    ) as client:
        for _ in range(ROUNDS):
            made = await session(client, merchant)
            path = path_of(made)
            _, csrf = await page(client, path)
            answers = await asyncio.gather(
                *(
                    client.post(f"{path}/pay", data={"csrf": csrf, **card("4242424242424242")})
                    for _tab in range(2)
                )
            )
            assert all(answer.status_code == 303 for answer in answers)
            done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
            assert (done["status"], done["payment_status"]) == ("complete", "paid")
            assert await _intents_of(database, made["id"]) == 1
            assert await _charges(database, done["payment_intent"]) == (1, 1)
            assert await events_of(database, made["id"]) == ["checkout.session.completed"]
            # The tab that lost says so, or shows the session paid.
            for answer in answers:
                location = answer.headers["location"]
                assert location == path or location.endswith("?error=lock_timeout"), location


async def test_a_payment_racing_the_expiry_pays_or_expires_never_both(
    database_url: str, api_settings: Settings, merchant: TestMerchant, database: Database
) -> None:
    async with app_client(
        database_url, api_settings, sandbox_card_latency_ms=SLOW_CARD_MS
    ) as client:
        outcomes = set()
        for _ in range(ROUNDS):
            made = await session(client, merchant)
            path = path_of(made)
            _, csrf = await page(client, path)
            paying = client.post(f"{path}/pay", data={"csrf": csrf, **card("4242424242424242")})
            await asyncio.gather(paying, expire_on(database, made["id"]))
            await expire_on(database, made["id"])  # the job's retry, after a busy payment
            final = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
            succeeded, _ = await _charges(database, final["payment_intent"])
            events = await events_of(database, made["id"])
            if final["status"] == "complete":
                assert succeeded == 1 and events == ["checkout.session.completed"]
            else:
                assert final["status"] == "expired" and succeeded == 0
                assert events == ["checkout.session.expired"]
                if final["payment_intent"] is not None:  # made by the page: canceled with it
                    intent = await get(
                        client, merchant, f"/v1/payment_intents/{final['payment_intent']}"
                    )
                    assert intent["status"] == "canceled", intent["status"]
            outcomes.add(final["status"])
        assert outcomes <= {"complete", "expired"}
