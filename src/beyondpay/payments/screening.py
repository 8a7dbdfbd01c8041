"""What a payment passes before it reaches its rail: the risk verdict and the merchant's limits.

Both are asked in the confirmation's transaction, after the charge exists (its id is the
payment id both are idempotent by) and before the rail is called, so a blocked or refused
payment never reaches the network. A risk ``challenge`` on a card asks the rail for 3-D Secure;
a UPI payment is always approved by its payer with their PIN, so a challenge there is let
through and recorded. A limits reservation is given back when the charge fails
(:func:`release_limits`), so only money that moved counts toward a cap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.limits.domain import LimitContext, LimitDecision
from beyondpay.limits.service import limits_service
from beyondpay.payment_methods.service import PaymentMethodRow
from beyondpay.payments.models import ChargeRow, PaymentIntentRow
from beyondpay.rails.protocol import Rail, RailOutcome
from beyondpay.risk.domain import PaymentContext
from beyondpay.risk.service import risk_service

# Stripe's charge.outcome.risk_level from our six levels.
STRIPE_RISK_LEVELS: Final = {
    "very_low": "normal",
    "low": "normal",
    "normal": "normal",
    "elevated": "elevated",
    "high": "elevated",
    "very_high": "highest",
}
BLOCK_MESSAGE: Final = "The payment was blocked: it looks fraudulent."


@dataclass(frozen=True, slots=True)
class Screening:
    """The verdicts, and the refusal to apply instead of calling the rail (None: go on)."""

    authenticate: bool  # ask the rail for 3-D Secure (a card the risk engine challenged)
    refusal: RailOutcome | None


def _payer_key(intent: PaymentIntentRow, method: PaymentMethodRow) -> str:
    return intent.customer_id or method.fingerprint or method.id


def _limit_context(charge: ChargeRow, intent: PaymentIntentRow, payer_key: str) -> LimitContext:
    return LimitContext(
        scope=charge.merchant_id,
        livemode=charge.livemode,
        payment_id=charge.id,
        amount_minor=charge.amount,
        currency=charge.currency,
        occurred_at=charge.created_at,
        payer_key=payer_key,
        merchant_id=charge.merchant_id,
    )


def _refusal(charge: ChargeRow, *, code: str, decline_code: str, message: str) -> RailOutcome:
    """A failed authorization that never left us: the charge fails through the usual path."""
    return RailOutcome(
        operation="authorize",
        status="failed",
        reference=f"screened:{charge.id}",
        request_id=charge.id,
        amount_minor=charge.amount,
        currency=charge.currency,
        code=code if charge.rail == Rail.upi else None,
        failure_code="card_declined" if charge.rail == Rail.card else None,
        decline_code=decline_code,
        message=message,
    )


async def screen(
    session: AsyncSession, intent: PaymentIntentRow, charge: ChargeRow, method: PaymentMethodRow
) -> Screening:
    payer_key = _payer_key(intent, method)
    assessment = await risk_service.assess(
        session,
        PaymentContext(
            payment_id=charge.id,
            scope=charge.merchant_id,
            livemode=charge.livemode,
            rail=charge.rail,
            amount_minor=charge.amount,
            currency=charge.currency,
            payer_key=payer_key,
            payee_key=charge.merchant_id,
            occurred_at=charge.created_at,
            merchant_id=charge.merchant_id,
            instrument_fingerprint=method.fingerprint,
        ),
    )
    charge.outcome = {
        "risk_level": STRIPE_RISK_LEVELS.get(assessment.level, "normal"),
        "risk_score": assessment.score,
        "risk_assessment": assessment.id,
    }
    if assessment.decision == "block":
        return Screening(
            authenticate=False,
            refusal=_refusal(
                charge,
                code="U16",
                decline_code=assessment.decline_code or "fraudulent",
                message=BLOCK_MESSAGE,
            ),
        )
    decision: LimitDecision = await limits_service.reserve(
        session, _limit_context(charge, intent, payer_key)
    )
    if not decision.allowed:
        return Screening(
            authenticate=False,
            refusal=_refusal(
                charge,
                code=decision.npci_code or "Z8",
                decline_code=decision.code or "limit_exceeded",
                message=decision.reason,
            ),
        )
    challenged = assessment.decision == "challenge" and charge.rail == Rail.card
    return Screening(authenticate=challenged, refusal=None)


def outcome_risk(charge: ChargeRow) -> dict[str, Any]:
    """The risk part of ``charge.outcome`` that screening wrote, kept when the rail answers."""
    earlier = charge.outcome or {}
    return {
        "risk_level": earlier.get("risk_level", "not_assessed"),
        "risk_score": earlier.get("risk_score"),
        "risk_assessment": earlier.get("risk_assessment"),
    }


async def release_limits(session: AsyncSession, charge: ChargeRow) -> None:
    """A failed charge's reservation back to the merchant's caps (nothing if none was made)."""
    await limits_service.release(
        session,
        LimitContext(
            scope=charge.merchant_id,
            livemode=charge.livemode,
            payment_id=charge.id,
            amount_minor=charge.amount,
            currency=charge.currency,
            occurred_at=utcnow(),
        ),
    )
