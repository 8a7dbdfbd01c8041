"""What the gate is asked about and what it answers, as plain values (no I/O).

A payment about to reach its rail is described once (:class:`Payment`); the risk engine and the
limits policies each get their own view of it. The gate's answer is a :class:`Verdict` the
caller acts on directly: it is not written anywhere for someone to read back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Final

from beyondpay.limits.domain import LimitContext
from beyondpay.risk.domain import PaymentContext

# NPCI's "risk threshold exceeded": the response code of a payment the risk engine blocked.
RISK_BLOCKED_NPCI_CODE: Final = "U16"
BLOCKED_REASON: Final = "The payment was blocked: it looks fraudulent."


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment before its rail: who pays whom, how much, by what, from where."""

    payment_id: str  # the idempotency key of both the assessment and the reservation
    scope: str  # whose rules and policies apply: a merchant (acct_…) or a PSP payer (pyr_…)
    livemode: bool
    rail: str
    amount_minor: int
    currency: str
    payer_key: str
    payee_key: str
    occurred_at: datetime
    merchant_id: str | None = None
    instrument_fingerprint: str | None = None
    device_id: str | None = None
    device_bound_at: datetime | None = None
    mcc: str | None = None
    payer_created_at: datetime | None = None
    vpa_key: str | None = None  # the payee's VPA, which limits policies may name
    test_card_risk: str | None = None  # test mode: the documented test card paying, if one

    def risk_context(self) -> PaymentContext:
        return PaymentContext(
            payment_id=self.payment_id,
            scope=self.scope,
            livemode=self.livemode,
            rail=self.rail,
            amount_minor=self.amount_minor,
            currency=self.currency,
            payer_key=self.payer_key,
            payee_key=self.payee_key,
            occurred_at=self.occurred_at,
            merchant_id=self.merchant_id,
            instrument_fingerprint=self.instrument_fingerprint,
            device_id=self.device_id,
            device_bound_at=self.device_bound_at,
            mcc=self.mcc,
            payer_created_at=self.payer_created_at,
            test_card_risk=self.test_card_risk,
        )

    def limit_context(self) -> LimitContext:
        return LimitContext(
            scope=self.scope,
            livemode=self.livemode,
            payment_id=self.payment_id,
            amount_minor=self.amount_minor,
            currency=self.currency,
            occurred_at=self.occurred_at,
            payer_key=self.payer_key,
            merchant_id=self.merchant_id,
            vpa_key=self.vpa_key,
            device_id=self.device_id,
            mcc=self.mcc,
        )


class Stop(StrEnum):
    """Which part of the gate stopped a payment."""

    risk_blocked = "risk_blocked"
    limits_refused = "limits_refused"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a payment may not reach its rail. Each caller words it its own way (a card decline,
    a PSP error); the gate gives the facts."""

    stop: Stop
    code: str | None  # the risk engine's decline code, or the refusing policy's code
    npci_code: str | None  # U16 for a risk block; the refusing policy's own, if it has one
    reason: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """The gate's answer: the risk assessment that was made, whether the risk engine asked the
    payer for more proof, and the refusal (None: the payment may go to its rail)."""

    assessment_id: str
    risk_level: str  # the risk engine's six levels, very_low … very_high
    risk_score: int
    challenged: bool
    refusal: Refusal | None = None
