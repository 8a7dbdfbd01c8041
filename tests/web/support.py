"""Helpers for page tests: a paid charge with its receipt link, a merchant with a GSTIN."""

from __future__ import annotations

from typing import Any

import httpx

from beyondpay.db.session import Database
from beyondpay.merchants.kyc import KycKind, gstin_check_character
from beyondpay.merchants.service import kyc_service
from tests.support import TestMerchant, ring_for_tests

PAN = "ABCPE1234F"
GSTIN = f"27{PAN}1Z" + gstin_check_character(f"27{PAN}1Z")


async def register_gstin(database: Database, merchant: TestMerchant) -> str:
    """The merchant's PAN and GSTIN, approved as a reviewer would."""
    ring = ring_for_tests()
    async with database.unit_of_work() as session:
        for kind, number in ((KycKind.pan, PAN), (KycKind.gst, GSTIN)):
            document = await kyc_service.submit(
                session, ring, merchant.id, kind, {"number": number}
            )
            await kyc_service.approve(session, document.id)
    return GSTIN


async def paid_charge(
    client: httpx.AsyncClient, merchant: TestMerchant, **params: Any
) -> dict[str, Any]:
    """A card payment (₹1,00,000 unless told) and its charge, with its receipt link."""
    body = {
        "amount": "10000000",
        "currency": "inr",
        "confirm": "true",
        "payment_method": "pm_card_visa",
        **params,
    }
    paid = await client.post("/v1/payment_intents", data=body, headers=merchant.auth())
    assert paid.status_code == 200, paid.text
    charge = await client.get(
        f"/v1/charges/{paid.json()['latest_charge']}", headers=merchant.auth()
    )
    assert charge.status_code == 200, charge.text
    answer: dict[str, Any] = charge.json()
    return answer
