"""One session paid twice at once (two tabs) charges once (issue 19, "Checked by"); a payment
racing the session's expiry either pays it or finds it expired, never both. Over real
connections, with a card network slow enough (300 ms) that the attempts overlap. The ledger is
verified after each test (tests/conftest.py)."""

from __future__ import annotations

import asyncio
import html
import re

from sqlalchemy import text

from beyondpay.checkout.service import expire_on
from beyondpay.db.session import Database
from beyondpay.kit.settings import Settings
from tests.checkout.support import card, events_of, give_email, page, path_of, pay, session
from tests.payments.support import get
from tests.psp.transfers_support import balance, ready_payer
from tests.psp.transfers_support import pay as pay_qr
from tests.support import TestMerchant, app_client

ROUNDS = 3
SLOW_CARD_MS = "300"
UPI_LINK = re.compile(r'href="(upi://pay\?[^"]+)"')


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
            csrf = await give_email(client, path)
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


async def test_one_upi_qr_paid_by_two_payers_at_once_is_paid_once(
    database_url: str, api_settings: Settings, merchant: TestMerchant, database: Database
) -> None:
    """Two payers of our PSP scan one session's QR and pay it at the same moment: the switch
    pays the intent request once; the other push is refused (B3) and debits nobody."""
    async with app_client(
        database_url, api_settings, sandbox_upi_latency_ms=SLOW_CARD_MS
    ) as client:
        for _ in range(ROUNDS):
            # New payers each round: a newly bound device may pay ₹5,000 a day.
            payers = [await ready_payer(client), await ready_payer(client, name="Ravi Kumar")]
            made = await session(client, merchant)
            path = path_of(made)
            assert (await pay(client, path, method="upi")).status_code == 303
            shown, _ = await page(client, path)
            found = UPI_LINK.search(shown.text)
            assert found is not None
            link = html.unescape(found.group(1))
            before = [await balance(client, payer) for payer in payers]
            answers = await asyncio.gather(
                *(pay_qr(client, payer, made["amount_total"], qr_payload=link) for payer in payers)
            )
            codes = sorted(answer.status_code for answer in answers)
            assert codes == [200, 402], [answer.text for answer in answers]
            refused = next(answer for answer in answers if answer.status_code == 402)
            assert refused.json()["error"]["npci_code"] == "B3"
            after = [await balance(client, payer) for payer in payers]
            assert sum(before) - sum(after) == made["amount_total"]
            done = await get(client, merchant, f"/v1/checkout/sessions/{made['id']}")
            assert (done["status"], done["payment_status"]) == ("complete", "paid")
            assert await _charges(database, done["payment_intent"]) == (1, 1)
            assert await events_of(database, made["id"]) == ["checkout.session.completed"]
