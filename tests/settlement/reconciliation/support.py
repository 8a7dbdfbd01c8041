"""Helpers of reconciliation's tests: an admin key, days of sandbox traffic, runs and
exceptions over HTTP."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import httpx
from pydantic import SecretStr

from beyondpay.db.session import Database
from beyondpay.kit.clock import FrozenClock, use_clock
from beyondpay.merchants.domain import KeyKind
from beyondpay.merchants.service import api_key_service
from beyondpay.rails import service as rails_service
from beyondpay.rails.file_domain import IST
from beyondpay.rails.protocol import BankAccountDestination, PayoutRail, PayoutRequest
from tests.payments.support import pay, post
from tests.support import TestMerchant, ring_for_tests

ALL_FAULTS = ["late", "missing_from_file", "duplicate", "amount_mismatch", "unknown_to_platform"]
PAYMENTS_A_DAY = 4
PAYOUTS_A_DAY = 2
REFUND_MINOR = 3_000


async def admin_headers(database: Database) -> dict[str, str]:
    async with database.unit_of_work() as session:
        issued = await api_key_service.issue(
            session, ring_for_tests(), merchant_id=None, kind=KeyKind.admin, livemode=True
        )
    return {"Authorization": f"Bearer {issued.secret}"}


def ist_at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=IST)


async def trade_day(
    client: httpx.AsyncClient,
    database: Database,
    merchant: TestMerchant,
    day: date,
    payments: int = PAYMENTS_A_DAY,
) -> None:
    """A day of sandbox traffic: card payments (one partly refunded) and payouts, made at the
    day's IST times."""
    with use_clock(FrozenClock(ist_at(day, 10))):
        intents = [
            await pay(
                client,
                merchant,
                amount=str(10_000 + 100 * day.day + index),
                payment_method="pm_card_visa",
            )
            for index in range(payments)
        ]
        refund = await post(
            client,
            merchant,
            "/v1/refunds",
            payment_intent=intents[0]["id"],
            amount=str(REFUND_MINOR),
        )
        assert refund.status_code == 200, refund.text
        for index in range(PAYOUTS_A_DAY):
            await payout(database, merchant.id, f"po_{day:%Y%m%d}{index}", 500_000 + index)


async def payout(database: Database, merchant_id: str, request_id: str, amount_minor: int) -> str:
    """A payout the sandbox payout rail pays at once (IMPS), as the payouts module will send
    it; returns its UTR."""
    request = PayoutRequest(
        request_id=request_id,
        merchant_id=merchant_id,
        livemode=False,
        amount_minor=amount_minor,
        currency="inr",
        rail=PayoutRail.imps,
        destination=BankAccountDestination(SecretStr("000123456789"), "HDFC0001234"),
    )
    async with database.sessionmaker() as session:
        outcome = await rails_service.payout_connector_for(False).payout(session, request)
        await session.commit()
    assert outcome.status == "paid" and outcome.utr is not None
    return outcome.utr


async def run(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    day: date,
    faults: list[str] | None = None,
    seed: int = 42,
) -> dict[str, Any]:
    body: dict[str, Any] = {"business_date": day.isoformat()}
    if faults:
        body["fault_injection"] = {"seed": seed, "kinds": faults}
    response = await client.post("/v1/platform/reconciliation/runs", json=body, headers=admin)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def exceptions(
    client: httpx.AsyncClient, admin: dict[str, str], **query: str
) -> list[dict[str, Any]]:
    """Every exception (all pages), oldest first."""
    found: list[dict[str, Any]] = []
    params: dict[str, str] = {"limit": "100", **query}
    while True:
        response = await client.get(
            "/v1/platform/reconciliation/exceptions", params=params, headers=admin
        )
        assert response.status_code == 200, response.text
        page = response.json()
        found.extend(page["data"])
        if not page["has_more"]:
            return list(reversed(found))
        params["starting_after"] = page["data"][-1]["id"]
