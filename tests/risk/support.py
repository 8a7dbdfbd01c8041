"""Helpers of the risk tests: payment contexts and a scorer whose answer the test chooses."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from beyondpay.risk.domain import PaymentContext

MOMENT = datetime(2026, 11, 2, 6, 30, tzinfo=UTC)  # a Monday, 12:00 IST


def context(**changes: Any) -> PaymentContext:
    base = PaymentContext(
        payment_id=f"pi_{uuid.uuid4().hex[:16]}",
        scope="acct_risk_test",
        livemode=False,
        rail="upi",
        amount_minor=500_00,
        currency="inr",
        payer_key="cus_payer",
        payee_key="acct_risk_test",
        occurred_at=MOMENT,
    )
    return replace(base, **changes)


@dataclass
class FixedScorer:
    """A model that answers ``probability`` for every payment (the decision policy is what a
    test of the service checks; the model has tests of its own)."""

    probability: float = 0.1
    version: str = "fixed-1"
    seen: list[Mapping[str, float]] = field(default_factory=list)

    def predict(self, features: Mapping[str, float]) -> tuple[float, list[dict[str, Any]]]:
        self.seen.append(dict(features))
        ranked = sorted(features.items(), key=lambda item: -abs(item[1]))
        return self.probability, [
            {"feature": name, "value": value, "contribution": 0.01} for name, value in ranked[:7]
        ]
