"""The gate before a rail against real PostgreSQL: risk first, a block stops the payment with
nothing reserved, a challenge is answered by the caller before anything is reserved, then the
limits policies reserve or refuse — and the verdict says which, as a value."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from beyondpay.db.session import Database
from beyondpay.kit.settings import Settings
from beyondpay.limits.models import LimitDecisionRow
from beyondpay.limits.schemas import PolicyCreateParams
from beyondpay.limits.service import limits_service
from beyondpay.merchants.domain import Caller, KeyKind, MerchantStatus
from beyondpay.risk import service as risk_module
from beyondpay.risk.schemas import RuleCreateParams
from beyondpay.risk.service import risk_service
from beyondpay.risk.store import PostgresFeatureStore
from beyondpay.screening.domain import Payment, Stop, Verdict
from beyondpay.screening.service import screening_service
from tests.risk.support import FixedScorer
from tests.support import TEST_RING_TEXT

SCOPE = "acct_screening_test"
MOMENT = datetime(2026, 11, 18, 5, 0, tzinfo=UTC)  # 10:30 IST on a Wednesday


@pytest.fixture(autouse=True)
async def scorer() -> AsyncIterator[FixedScorer]:
    # The rules decide test payments; the model's score is fixed and low.
    fixed = FixedScorer()
    risk_module.configure(
        Settings(secret_keys=TEST_RING_TEXT), store=PostgresFeatureStore(), scorer=fixed
    )
    yield fixed
    risk_module.configure(Settings(secret_keys=TEST_RING_TEXT), store=PostgresFeatureStore())


def _payment(amount_minor: int) -> Payment:
    return Payment(
        payment_id=f"ch_{uuid.uuid4().hex[:16]}",
        scope=SCOPE,
        livemode=False,
        rail="card",
        amount_minor=amount_minor,
        currency="inr",
        payer_key="cus_asha",
        payee_key=SCOPE,
        occurred_at=MOMENT,
        merchant_id=SCOPE,
    )


async def _rule(database: Database, action: str, above: int) -> None:
    caller = Caller(
        key_id="key_test",
        kind=KeyKind.secret,
        livemode=False,
        merchant_id=SCOPE,
        merchant_status=MerchantStatus.active,
    )
    params = RuleCreateParams(
        action=action,
        conditions=[{"feature": "amount_minor", "op": ">", "value": above}],
        reason=f"{action} above {above}",
    )
    async with database.unit_of_work() as session:
        await risk_service.create_rule(session, caller, params)


async def _cap(database: Database, amount_max: int) -> str:
    params = PolicyCreateParams(
        kind="cap", subject="payer", period="transaction", amount_max=amount_max
    )
    async with database.unit_of_work() as session:
        return (await limits_service.create_policy(session, SCOPE, False, params)).id


async def _screen(database: Database, payment: Payment, **options: Any) -> Verdict:
    async with database.unit_of_work() as session:
        return await screening_service.screen(session, payment, **options)


async def _reservations(database: Database, payment: Payment) -> int:
    async with database.unit_of_work() as session:
        statement = select(func.count()).where(LimitDecisionRow.payment_id == payment.payment_id)
        return int((await session.execute(statement)).scalar_one())


async def test_a_payment_that_passes_is_assessed_and_reserved(database: Database) -> None:
    payment = _payment(1_000)
    verdict = await _screen(database, payment)
    assert verdict.refusal is None and not verdict.challenged
    assert verdict.assessment_id.startswith("ra_")
    assert (verdict.risk_level, verdict.risk_score) == ("low", 10)
    assert await _reservations(database, payment) == 1


async def test_a_block_stops_the_payment_before_limits(database: Database) -> None:
    await _rule(database, "block", 50_000)
    answered: list[str] = []

    async def answer() -> None:
        answered.append("asked")

    payment = _payment(60_000)
    verdict = await _screen(database, payment, answer_challenge=answer)
    assert verdict.refusal is not None
    assert (verdict.refusal.stop, verdict.refusal.npci_code) == (Stop.risk_blocked, "U16")
    assert not verdict.challenged and answered == []
    assert await _reservations(database, payment) == 0


async def test_a_challenge_is_answered_before_anything_is_reserved(database: Database) -> None:
    await _rule(database, "challenge", 50_000)

    class Refused(Exception):
        pass

    async def refuse() -> None:
        raise Refused

    payment = _payment(60_000)
    with pytest.raises(Refused):
        await _screen(database, payment, answer_challenge=refuse)
    assert await _reservations(database, payment) == 0
    # A caller who answers the challenge later (a card's 3-D Secure) reads it off the verdict.
    verdict = await _screen(database, _payment(60_000))
    assert verdict.challenged and verdict.refusal is None


async def test_a_limits_refusal_names_its_policy_code(database: Database) -> None:
    await _cap(database, 5_000)
    verdict = await _screen(database, _payment(5_001))
    assert verdict.refusal is not None
    refusal = verdict.refusal
    assert (refusal.stop, refusal.code, refusal.npci_code) == (
        Stop.limits_refused,
        "limits_transaction_amount_exceeded",
        "Z8",
    )
    assert refusal.reason
    assert (await _screen(database, _payment(5_000))).refusal is None
