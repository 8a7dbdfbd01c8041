"""Rules: each condition kind, Radar's order of evaluation, segments, the defaults, and what a
merchant may not write."""

from __future__ import annotations

import pytest

from beyondpay.risk.features import History, compute
from beyondpay.risk.rules import (
    DEFAULT_RULES,
    Action,
    Condition,
    Rule,
    evaluate,
    parse_condition,
    values_of,
)
from tests.risk.support import context


def rule(id: str, action: str, *conditions: dict[str, object], segment: str | None = None) -> Rule:
    parsed = tuple(parse_condition(condition) for condition in conditions)
    return Rule(id, Action(action), parsed, f"reason {id}", segment)


VALUES = {"count_1h": 4.0, "amount_minor": 500_00.0, "rail": "upi", "mcc": "5411", "new_payee": 1.0}


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ({"feature": "count_1h", "op": ">", "value": 3}, True),
        ({"feature": "count_1h", "op": ">", "value": "4"}, False),  # form bodies send text
        ({"feature": "count_1h", "op": ">=", "value": "4"}, True),
        ({"feature": "count_1h", "op": "<", "value": 4}, False),
        ({"feature": "count_1h", "op": "<=", "value": 4}, True),
        ({"feature": "new_payee", "op": "==", "value": "1"}, True),
        ({"feature": "new_payee", "op": "!=", "value": 1}, False),
        ({"feature": "rail", "op": "==", "value": "upi"}, True),
        ({"feature": "mcc", "op": "in", "value": ["5411", "5812"]}, True),
        ({"feature": "mcc", "op": "in", "value": [5411]}, True),  # an MCC as a JSON number
        ({"feature": "mcc", "op": "not_in", "value": ["5411"]}, False),
        ({"feature": "amount_minor", "op": "in", "value": ["50000", 1]}, True),
    ],
)
def test_conditions(condition: dict[str, object], holds: bool) -> None:
    assert parse_condition(condition).holds(VALUES) is holds


def test_an_unknown_attribute_matches_nothing() -> None:
    assert not Condition("mcc", "!=", "5411").holds({"mcc": None})


@pytest.mark.parametrize(
    "condition",
    [
        {"feature": "__class__", "op": "==", "value": 1},
        {"feature": "count_1h", "op": "=~", "value": 1},
        {"feature": "count_1h", "op": ">", "value": "ten"},
        {"feature": "count_1h", "op": ">", "value": float("nan")},
        {"feature": "count_1h", "op": ">", "value": True},
        {"feature": "count_1h", "op": "in", "value": []},
        {"feature": "rail", "op": ">", "value": "card"},
        {"feature": "count_1h", "op": ">", "value": 1, "extra": 2},
    ],
)
def test_what_a_rule_may_not_say(condition: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_condition(condition)


def test_radar_order_challenge_then_allow_which_ends_it() -> None:
    rules = [
        rule("block", "block", {"feature": "count_1h", "op": ">", "value": 0}),
        rule("allow", "allow", {"feature": "rail", "op": "==", "value": "upi"}),
        rule("challenge", "challenge", {"feature": "count_1h", "op": ">", "value": 0}),
        rule("review", "review", {"feature": "count_1h", "op": ">", "value": 0}),
    ]
    outcome = evaluate(rules, VALUES, "default")
    assert [fired.id for fired in outcome.fired] == ["challenge", "allow"]
    assert outcome.action is Action.allow


def test_block_then_review_when_no_allow_matches() -> None:
    rules = [
        rule("review", "review", {"feature": "count_1h", "op": ">", "value": 0}),
        rule("block_late", "block", {"feature": "count_1h", "op": ">", "value": 0}),
        rule("block_first", "block", {"feature": "count_1h", "op": ">", "value": 1}),
        rule("allow", "allow", {"feature": "rail", "op": "==", "value": "card"}),
    ]
    outcome = evaluate(sorted(rules, key=lambda r: r.id != "block_first"), VALUES, "default")
    assert [fired.id for fired in outcome.fired] == ["block_first", "review"]
    assert outcome.action is Action.block


def test_first_match_in_a_group_and_review_alone() -> None:
    rules = [
        rule("first", "review", {"feature": "count_1h", "op": ">", "value": 1}),
        rule("second", "review", {"feature": "count_1h", "op": ">", "value": 0}),
    ]
    outcome = evaluate(rules, VALUES, "default")
    assert [fired.id for fired in outcome.fired] == ["first"] and outcome.action is Action.review
    assert evaluate([], VALUES, "default").action is None


def test_a_rule_of_a_segment_applies_only_to_it() -> None:
    minors = rule(
        "minors", "block", {"feature": "count_1h", "op": ">", "value": 0}, segment="minor"
    )
    assert evaluate([minors], VALUES, "default").action is None
    assert evaluate([minors], VALUES, "minor").action is Action.block


def test_all_conditions_must_hold() -> None:
    both = rule(
        "both",
        "block",
        {"feature": "count_1h", "op": ">", "value": 0},
        {"feature": "rail", "op": "==", "value": "card"},
    )
    assert evaluate([both], VALUES, "default").action is None


def _default_outcome(ctx_changes: dict[str, object], history: History) -> list[str]:
    ctx = context(**ctx_changes)
    outcome = evaluate(DEFAULT_RULES, values_of(ctx, compute(ctx, history)), ctx.segment)
    return [fired.id for fired in outcome.fired]


def test_default_rules() -> None:
    assert _default_outcome({}, History(paid_payee_before=True)) == []
    card_testing = _default_outcome({"rail": "card", "amount_minor": 99_00}, History(count_1h=5))
    assert card_testing == ["default_card_testing"]
    assert _default_outcome({"rail": "upi", "amount_minor": 99_00}, History(count_1h=5)) == []
    assert _default_outcome({}, History(count_1h=10)) == ["default_velocity"]
    mule = _default_outcome({}, History(payee_new_payers_24h=20))
    assert mule == ["default_mule_fan_in"]
    spike = _default_outcome(
        {"amount_minor": 9_000_00}, History(count_30d=3, sum_30d_minor=3_000_00)
    )
    assert spike == ["default_new_device_spike"]
