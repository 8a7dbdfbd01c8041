"""Pure rules of risk: the payment context, score bands, levels, decisions and the policy per
segment. No I/O: the service, the simulator and the benchmark all share these.

A score is a probability of fraud scaled to 0-100. Levels are fixed bands (Radar's scale, split
finer so a merchant can see how close a payment came to a threshold); the decision is a policy
per segment (thresholds as data), and rules override the model (see ``decide``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Final

from beyondpay.kit.invariants import invariant

# Features that speak of days and hours count them in Indian Standard Time (no daylight saving).
IST: Final = timezone(timedelta(hours=5, minutes=30), "IST")
SCORE_MAX: Final = 100


class Rail(StrEnum):
    card = "card"
    upi = "upi"
    netbanking = "netbanking"


class Level(StrEnum):
    very_low = "very_low"
    low = "low"
    normal = "normal"
    elevated = "elevated"
    high = "high"
    very_high = "very_high"


class Decision(StrEnum):
    # Declared from the mildest to the strictest: ``strictest`` relies on this order.
    pass_ = "pass"  # noqa: S105 (a verdict, not a password)
    challenge = "challenge"
    block = "block"


class Segment(StrEnum):
    default = "default"
    minor = "minor"  # minors' accounts (issue to come): stricter thresholds


# The lowest score of each level, from the highest level down.
LEVEL_FLOORS: Final[tuple[tuple[int, Level], ...]] = (
    (85, Level.very_high),
    (75, Level.high),
    (65, Level.elevated),
    (30, Level.normal),
    (10, Level.low),
    (0, Level.very_low),
)

# NPCI's "risk threshold exceeded" for UPI; the card networks' reason Stripe also uses.
DECLINE_CODE_UPI: Final = "U16"
DECLINE_CODE_CARD: Final = "fraudulent"


class TestCardRisk(StrEnum):
    """What a documented test card asks of the risk engine in test mode, as Stripe's Radar test
    cards do. Any of them is never stopped by the default rules or the model; a merchant's own
    rules and blocklists still act on all of them."""

    __test__ = False

    normal = "normal"  # 4242… and the rest: the model's score, shown but never acted on
    elevated = "elevated"  # 4000 0000 0000 9235: an elevated score, let through
    highest = "highest"  # 4000 0000 0000 4954: the highest score, blocked as the model would
    blocked = "blocked"  # 4100 0000 0000 0019: blocked whatever the rules say


# The score each of Radar's risk test cards gets (the others keep the model's).
TEST_CARD_SCORES: Final[dict[str, int]] = {
    TestCardRisk.elevated: 70,
    TestCardRisk.highest: 95,
    TestCardRisk.blocked: 100,
}


@dataclass(frozen=True, slots=True)
class PaymentContext:
    payment_id: str  # idempotency: the same payment id gets the stored assessment
    scope: str  # merchant id (acct_…) for merchant payments, payer id (pyr_…) for PSP
    livemode: bool
    rail: str  # "card" | "upi" | "netbanking"
    amount_minor: int
    currency: str
    payer_key: str  # stable pseudonymous payer id: PSP payer id, customer id or instrument hex
    payee_key: str  # merchant id, or the payee's payer/VPA id for P2P
    occurred_at: datetime
    merchant_id: str | None = None
    instrument_fingerprint: str | None = None  # card / VPA fingerprint hex (never the value)
    device_id: str | None = None
    device_bound_at: datetime | None = None
    ip: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    mcc: str | None = None
    payer_created_at: datetime | None = None
    segment: str = "default"  # "minor" comes later
    # In test mode, the documented test card paying (a TestCardRisk), or None for any other
    # instrument; ignored in live mode.
    test_card_risk: str | None = None

    def test_card(self) -> TestCardRisk | None:
        if self.livemode or self.test_card_risk is None:
            return None
        return TestCardRisk(self.test_card_risk)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Scores at or above which the model alone challenges or blocks a payment."""

    challenge_score_min: int
    block_score_min: int

    def __post_init__(self) -> None:
        invariant(
            0 <= self.challenge_score_min <= self.block_score_min <= SCORE_MAX + 1,
            "a challenge threshold is never above the block threshold",
        )


# A minor's payment is challenged and blocked sooner: a guardian would rather be asked.
THRESHOLDS_BY_SEGMENT: Final[dict[str, Thresholds]] = {
    Segment.default: Thresholds(challenge_score_min=65, block_score_min=85),
    Segment.minor: Thresholds(challenge_score_min=45, block_score_min=70),
}


def thresholds_for(segment: str) -> Thresholds:
    """The policy of a segment; an unknown segment gets the default one."""
    return THRESHOLDS_BY_SEGMENT.get(segment, THRESHOLDS_BY_SEGMENT[Segment.default])


def score_of(probability: float) -> int:
    """A probability of fraud as a 0-100 score."""
    invariant(0.0 <= probability <= 1.0, "the model answers a probability")
    return round(SCORE_MAX * probability)


def level_of(score: int) -> Level:
    invariant(0 <= score <= SCORE_MAX, "a score is within 0-100")
    for floor, level in LEVEL_FLOORS:
        if score >= floor:
            return level
    raise AssertionError("the lowest band starts at 0")  # pragma: no cover


def model_decision(score: int, segment: str) -> Decision:
    thresholds = thresholds_for(segment)
    if score >= thresholds.block_score_min:
        return Decision.block
    if score >= thresholds.challenge_score_min:
        return Decision.challenge
    return Decision.pass_


def decide(
    score: int,
    segment: str,
    *,
    rule_action: str | None,
    blocklisted: bool,
    model_decides: bool = True,
) -> Decision:
    """The verdict: a blocklist blocks; a rule overrides the model; otherwise the thresholds.

    Without ``model_decides`` (test mode, by default) the score is kept but the model alone
    never challenges or blocks: blocklists and rules still do. This is Stripe's test mode, where
    Radar scores test payments and the merchant's rules act on them, and it keeps tests and
    demos from depending on how a model trained on synthetic data sees a test payment at 3 am.

    ``rule_action`` is the action of the rule that won Radar's order (``challenge``, ``allow``,
    ``block`` or ``review``), or None when none fired. An allow rule passes the payment even if
    the model would block it, but never a blocklisted one. ``review`` lets the payment through
    as the model decides: it only marks it for a person to look at.
    """
    if blocklisted:
        return Decision.block
    if rule_action == "block":
        return Decision.block
    if rule_action == "allow":
        return Decision.pass_
    by_model = model_decision(score, segment) if model_decides else Decision.pass_
    if rule_action == "challenge":
        return strictest(Decision.challenge, by_model)
    return by_model


def test_card_score(test_card: TestCardRisk, model_score: int) -> int:
    """The score of a test card's payment: Radar's risk test cards set it, others keep the
    model's."""
    return TEST_CARD_SCORES.get(test_card, model_score)


def strictest(first: Decision, second: Decision) -> Decision:
    order = list(Decision)
    return first if order.index(first) >= order.index(second) else second


def decline_code_for(rail: str, decision: Decision) -> str | None:
    """What a blocked payment is declined with: NPCI U16 on UPI, Stripe's ``fraudulent`` else."""
    if decision is not Decision.block:
        return None
    return DECLINE_CODE_UPI if rail == Rail.upi else DECLINE_CODE_CARD
