"""The gate before a rail, shared by merchant payments and the PSP's pay: risk, then limits.

Asked in the payment's first transaction, before the rail, so a refused payment never reaches
the network: the risk engine assesses the payment; a block stops it there with nothing
reserved. A challenge is the caller's to answer (``answer_challenge``: a PSP payer's passkey)
before anything is reserved; a caller that answers it later (a card's 3-D Secure, asked of the
rail) reads ``Verdict.challenged``. Then the limits policies reserve the amount, or refuse it.
A reservation is given back by the caller (``limits.service``) when the payment fails, so only
money that moved counts toward a cap.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.limits.service import limits_service
from beyondpay.risk.service import risk_service
from beyondpay.screening.domain import (
    BLOCKED_REASON,
    RISK_BLOCKED_NPCI_CODE,
    Payment,
    Refusal,
    Stop,
    Verdict,
)

# What the caller does when the risk engine challenges a payment, before limits are reserved;
# it raises to stop the payment.
ChallengeAnswer = Callable[[], Awaitable[None]]


class ScreeningService:
    async def screen(
        self,
        session: AsyncSession,
        payment: Payment,
        *,
        answer_challenge: ChallengeAnswer | None = None,
    ) -> Verdict:
        """The verdict on ``payment``, in the caller's transaction; asked again for the same
        payment id, the risk engine and the limits give their first answers."""
        assessment = await risk_service.assess(session, payment.risk_context())
        challenged = assessment.decision == "challenge"
        verdict = Verdict(
            assessment_id=assessment.id,
            risk_level=assessment.level,
            risk_score=assessment.score,
            challenged=challenged,
        )
        if assessment.decision == "block":
            blocked = Refusal(
                Stop.risk_blocked,
                code=assessment.decline_code,
                npci_code=RISK_BLOCKED_NPCI_CODE,
                reason=BLOCKED_REASON,
            )
            return replace(verdict, refusal=blocked)
        if challenged and answer_challenge is not None:
            await answer_challenge()
        decision = await limits_service.reserve(session, payment.limit_context())
        if decision.allowed:
            return verdict
        refused = Refusal(
            Stop.limits_refused,
            code=decision.code,
            npci_code=decision.npci_code,
            reason=decision.reason,
        )
        return replace(verdict, refusal=refused)


screening_service = ScreeningService()
