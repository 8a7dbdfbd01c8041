"""Helpers for dispute tests: paying with a card or a VPA the sandbox disputes, and delivering
the network's dispute."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

import httpx
from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.rails.domain import DISPUTE_OPENS_AFTER_S
from tests.payments.support import deliver_callbacks, get, pay
from tests.support import TestMerchant

AMOUNT: Final = 10_000  # ₹100, what tests.payments.support.pay pays
PROCESSING_FEE: Final = 200  # 2 % of it
DISPUTE_FEE: Final = 1_500_00  # BEYONDPAY_DISPUTES_FEE_MINOR's default: ₹1,500


async def disputed_card_payment(
    client: httpx.AsyncClient, merchant: TestMerchant, database: Database
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A payment with Stripe's dispute test card, and the dispute the network opens shortly
    after its capture (its callback delivered)."""
    intent = await pay(client, merchant, payment_method="pm_card_createDispute")
    assert intent["status"] == "succeeded", intent
    await open_disputes(database)
    listed = await get(client, merchant, "/v1/disputes", charge=intent["latest_charge"])
    (dispute,) = listed["data"]
    return intent, dispute


async def open_disputes(database: Database) -> int:
    """Delivers the rails' callbacks queued so far, as if the network's delay had passed (a few
    times over: more than the few seconds a UPI payer takes too)."""
    return await deliver_callbacks(database, after=timedelta(seconds=3 * DISPUTE_OPENS_AFTER_S))


async def event_types(database: Database, object_id: str) -> list[str]:
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text("SELECT type FROM events WHERE object_id = :id ORDER BY inserted"),
            {"id": object_id},
        )
        return [str(row) for row in rows.scalars()]
