"""A subscription-mode session paid in two tabs at once makes one subscription and charges
once; a payment racing the session's expiry either subscribes or expires, never both. Over real
connections, with a card network slow enough (300 ms) that the attempts overlap; the ledger is
verified after each test (tests/conftest.py)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from beyondpay.checkout.service import expire_on
from beyondpay.db.session import Database
from beyondpay.kit.settings import Settings
from tests.billing.subscriptions.support import monthly_price
from tests.checkout.support import card, events_of, give_email, path_of
from tests.checkout.test_subscription_mode import subscription_session
from tests.payments.support import get
from tests.support import TestMerchant, app_client

ROUNDS = 3
SLOW_CARD_MS = "300"


async def _made(database: Database, session_id: str) -> tuple[int, int, int]:
    """(subscriptions, succeeded charges, all charges) the session made."""
    async with database.unit_of_work() as db:
        found = (
            await db.execute(
                text(
                    "SELECT (SELECT count(*) FROM subscriptions"
                    "        WHERE metadata->>'checkout_session' = :id),"
                    " (SELECT count(*) FROM charges c JOIN checkout_sessions s"
                    "        ON s.payment_intent_id = c.payment_intent_id"
                    "        WHERE s.id = :id AND c.status = 'succeeded'),"
                    " (SELECT count(*) FROM charges c JOIN checkout_sessions s"
                    "        ON s.payment_intent_id = c.payment_intent_id WHERE s.id = :id)"
                ),
                {"id": session_id},
            )
        ).one()
    return int(found[0]), int(found[1]), int(found[2])


async def test_one_subscription_session_paid_in_two_tabs_at_once_subscribes_once(
    database_url: str, api_settings: Settings, merchant: TestMerchant, database: Database
) -> None:
    async with app_client(
        database_url, api_settings, sandbox_card_latency_ms=SLOW_CARD_MS
    ) as client:
        price = await monthly_price(client, merchant)
        for _ in range(ROUNDS):
            made = await subscription_session(client, merchant, price["id"])
            path = path_of(made)
            csrf = await give_email(client, path)
            answers = await asyncio.gather(
                *(
                    client.post(f"{path}/pay", data={"csrf": csrf, **card("4242424242424242")})
                    for _tab in range(2)
                )
            )
            assert all(answer.status_code == 303 for answer in answers)
            done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
            assert (done["status"], done["payment_status"]) == ("complete", "paid")
            assert await _made(database, made["id"]) == (1, 1, 1)
            subscription = await get(client, merchant, f"/v1/subscriptions/{done['subscription']}")
            assert subscription["status"] == "active"
            assert await events_of(database, made["id"]) == ["checkout.session.completed"]
            for answer in answers:
                location = answer.headers["location"]
                assert location == path or location.endswith("?error=lock_timeout"), location


async def test_a_subscription_payment_racing_the_expiry_subscribes_or_expires(
    database_url: str, api_settings: Settings, merchant: TestMerchant, database: Database
) -> None:
    async with app_client(
        database_url, api_settings, sandbox_card_latency_ms=SLOW_CARD_MS
    ) as client:
        price = await monthly_price(client, merchant)
        for _ in range(ROUNDS):
            made = await subscription_session(client, merchant, price["id"])
            path = path_of(made)
            csrf = await give_email(client, path)
            paying = client.post(f"{path}/pay", data={"csrf": csrf, **card("4242424242424242")})
            await asyncio.gather(paying, expire_on(database, made["id"]))
            await expire_on(database, made["id"])  # the job's retry, after a busy payment
            final = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
            subscriptions, succeeded, _ = await _made(database, made["id"])
            events = await events_of(database, made["id"])
            if final["status"] == "complete":
                assert succeeded == 1 and events == ["checkout.session.completed"]
                sub = await get(client, merchant, f"/v1/subscriptions/{final['subscription']}")
                assert sub["status"] == "active"
            else:
                assert final["status"] == "expired" and succeeded == 0
                assert events == ["checkout.session.expired"]
                if final["subscription"] is not None:
                    sub = await get(client, merchant, f"/v1/subscriptions/{final['subscription']}")
                    assert sub["status"] == "incomplete_expired"
                    invoice = await get(client, merchant, f"/v1/invoices/{final['invoice']}")
                    assert invoice["status"] == "void"
            assert subscriptions <= 1
