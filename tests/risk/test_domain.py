"""Score bands, decisions per segment, rules over the model, decline codes: pure."""

from __future__ import annotations

import pytest

from beyondpay.kit.invariants import InvariantError
from beyondpay.risk.domain import (
    Decision,
    Level,
    decide,
    decline_code_for,
    level_of,
    model_decision,
    score_of,
)


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (0, Level.very_low),
        (9, Level.very_low),
        (10, Level.low),
        (29, Level.low),
        (30, Level.normal),
        (64, Level.normal),
        (65, Level.elevated),
        (74, Level.elevated),
        (75, Level.high),
        (84, Level.high),
        (85, Level.very_high),
        (100, Level.very_high),
    ],
)
def test_levels_are_fixed_bands(score: int, level: Level) -> None:
    assert level_of(score) is level


def test_scores_are_probabilities_scaled() -> None:
    assert (score_of(0.0), score_of(0.654), score_of(1.0)) == (0, 65, 100)
    with pytest.raises(InvariantError):
        score_of(1.5)


def test_thresholds_per_segment() -> None:
    assert model_decision(64, "default") is Decision.pass_
    assert model_decision(65, "default") is Decision.challenge
    assert model_decision(85, "default") is Decision.block
    assert model_decision(45, "minor") is Decision.challenge
    assert model_decision(70, "minor") is Decision.block
    assert model_decision(70, "unknown") is Decision.challenge  # the default policy


def test_rules_override_the_model_and_the_blocklist_overrides_all() -> None:
    assert decide(99, "default", rule_action="allow", blocklisted=False) is Decision.pass_
    assert decide(1, "default", rule_action="allow", blocklisted=True) is Decision.block
    assert decide(1, "default", rule_action="block", blocklisted=False) is Decision.block
    assert decide(1, "default", rule_action="challenge", blocklisted=False) is Decision.challenge
    assert decide(90, "default", rule_action="challenge", blocklisted=False) is Decision.block
    assert decide(1, "default", rule_action="review", blocklisted=False) is Decision.pass_
    assert decide(70, "default", rule_action=None, blocklisted=False) is Decision.challenge


def test_decline_codes() -> None:
    assert decline_code_for("upi", Decision.block) == "U16"
    assert decline_code_for("card", Decision.block) == "fraudulent"
    assert decline_code_for("netbanking", Decision.block) == "fraudulent"
    assert decline_code_for("upi", Decision.challenge) is None


def test_without_the_model_deciding_only_rules_and_blocklists_act() -> None:
    assert (
        decide(99, "default", rule_action=None, blocklisted=False, model_decides=False)
        is Decision.pass_
    )
    assert (
        decide(99, "default", rule_action="challenge", blocklisted=False, model_decides=False)
        is Decision.challenge
    )
    assert (
        decide(1, "default", rule_action="block", blocklisted=False, model_decides=False)
        is Decision.block
    )
    assert (
        decide(1, "default", rule_action=None, blocklisted=True, model_decides=False)
        is Decision.block
    )
