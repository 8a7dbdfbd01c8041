"""What a payment passes before it reaches its rail: the shared gate (``beyondpay.screening``),
asked about a charge, and how its verdict shows on the charge.

The gate is asked in the confirmation's transaction, after the charge exists (its id is the
payment id risk and limits are idempotent by) and before the rail is called, so a blocked or
refused payment never reaches the network. The confirmation acts on the verdict it gets back:
a refusal fails the charge at once (:func:`blocked_outcome` is its Stripe ``outcome``); a risk
``challenge`` on a card asks the rail for 3-D Secure, while a UPI payment, always approved by
its payer with their PIN, is let through (:func:`authenticate`). A limits reservation is given
back when the charge fails (:func:`release_limits`), so only money that moved counts toward a
cap.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.kit.clock import utcnow
from beyondpay.limits.domain import LimitContext
from beyondpay.limits.service import limits_service
from beyondpay.payment_methods.service import PaymentMethodRow, payment_method_service
from beyondpay.payments.models import ChargeRow, PaymentIntentRow
from beyondpay.payments.settings import key_ring
from beyondpay.rails.protocol import Rail
from beyondpay.screening.domain import Payment, Refusal, Stop, Verdict
from beyondpay.screening.service import screening_service

# Stripe's charge.outcome.risk_level from our six levels.
STRIPE_RISK_LEVELS: Final = {
    "very_low": "normal",
    "low": "normal",
    "normal": "normal",
    "elevated": "elevated",
    "high": "elevated",
    "very_high": "highest",
}
# The NPCI response code of a payment a limits policy refused without naming one.
LIMITS_REFUSED_NPCI_CODE: Final = "Z8"


async def screen(
    session: AsyncSession, intent: PaymentIntentRow, charge: ChargeRow, method: PaymentMethodRow
) -> Verdict:
    """The gate's verdict on ``charge``. Its risk fields start the charge's Stripe ``outcome``
    (the rail's answer completes it); the caller decides by the verdict itself."""
    payer_key = intent.customer_id or method.fingerprint or method.id
    test_card = await payment_method_service.test_card_of(session, key_ring(), method)
    verdict = await screening_service.screen(
        session,
        Payment(
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
            test_card_risk=test_card.risk if test_card is not None else None,
        ),
    )
    charge.outcome = _risk(verdict)
    return verdict


def authenticate(verdict: Verdict, charge: ChargeRow) -> bool:
    """Ask the rail for 3-D Secure: a card payment the risk engine challenged."""
    return verdict.challenged and charge.rail == Rail.card


def _risk(verdict: Verdict) -> dict[str, Any]:
    return {
        "risk_level": STRIPE_RISK_LEVELS.get(verdict.risk_level, "normal"),
        "risk_score": verdict.risk_score,
        "risk_assessment": verdict.assessment_id,
    }


def blocked_outcome(verdict: Verdict, decline_code: str) -> dict[str, Any]:
    """Stripe's ``outcome`` of a charge the gate refused: never sent to the network."""
    return {
        "network_status": "not_sent_to_network",
        "reason": decline_code,
        **_risk(verdict),
        "seller_message": "Blocked before the network: risk or limits.",
        "type": "blocked",
    }


def decline_code(refusal: Refusal) -> str:
    """The decline code a refused charge shows, as a card network's would."""
    if refusal.stop is Stop.risk_blocked:
        return refusal.code or "fraudulent"
    return refusal.code or "limit_exceeded"


def network_code(refusal: Refusal) -> str:
    """The NPCI response code a refused UPI charge shows."""
    return refusal.npci_code or LIMITS_REFUSED_NPCI_CODE


def outcome_risk(charge: ChargeRow) -> dict[str, Any]:
    """The risk part of ``charge.outcome`` that screening wrote, kept when the rail answers (in
    a later transaction, perhaps another process: the column is where it was kept)."""
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
