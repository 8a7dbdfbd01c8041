"""Rules: declarative conditions over features, evaluated in Radar's fixed order. Pure, no I/O.

A rule is data: an action and a list of conditions that must all hold, each
``{"feature": name, "op": op, "value": value}``. ``feature`` names a model feature
(``FEATURE_NAMES``) or one of the context's attributes (``ATTRIBUTES``); nothing is evaluated as
code, so a merchant's rule can only compare. Order (Stripe Radar's): the challenge rules, then
allow, then block, then review; within a group the first match wins; an allow rule that matches
means block and review rules are not looked at.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from beyondpay.risk.domain import PaymentContext
from beyondpay.risk.features import FEATURE_NAMES

CONDITIONS_MAX: Final = 10
IN_VALUES_MAX: Final = 50
REASON_CHARS_MAX: Final = 200
VALUE_CHARS_MAX: Final = 100
# What a rule may read besides the features: plain attributes of the payment, none personal.
ATTRIBUTES: Final[tuple[str, ...]] = ("rail", "mcc", "currency", "amount_minor", "segment")


class Action(StrEnum):
    challenge = "challenge"
    allow = "allow"
    block = "block"
    review = "review"


# Radar's order of evaluation.
ACTION_ORDER: Final[tuple[Action, ...]] = (
    Action.challenge,
    Action.allow,
    Action.block,
    Action.review,
)

_NUMERIC: Final[dict[str, Callable[[Any, Any], bool]]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
OPERATORS: Final[tuple[str, ...]] = (*_NUMERIC, "==", "!=", "in", "not_in")


@dataclass(frozen=True, slots=True)
class Condition:
    feature: str
    op: str
    value: float | str | tuple[float | str, ...]

    def holds(self, values: Mapping[str, float | str | None]) -> bool:
        actual = values.get(self.feature)
        if actual is None:
            return False  # an unknown attribute matches no condition, not even !=
        if self.op in _NUMERIC:
            if isinstance(actual, str) or isinstance(self.value, str | tuple):
                return False
            return bool(_NUMERIC[self.op](float(actual), float(self.value)))
        if self.op == "==":
            return _same(actual, self.value)
        if self.op == "!=":
            return not _same(actual, self.value)
        options = self.value if isinstance(self.value, tuple) else (self.value,)
        found = any(_same(actual, option) for option in options)
        return found if self.op == "in" else not found


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    action: Action
    conditions: tuple[Condition, ...]
    reason: str
    segment: str | None = None  # None: every segment

    def matches(self, values: Mapping[str, float | str | None], segment: str) -> bool:
        if self.segment is not None and self.segment != segment:
            return False
        return all(condition.holds(values) for condition in self.conditions)


@dataclass(frozen=True, slots=True)
class Outcome:
    fired: tuple[Rule, ...]  # in evaluation order, at most one per action
    action: Action | None  # what the rules decide: allow, block, challenge or review, or None


def _same(actual: float | str, expected: float | str | tuple[float | str, ...]) -> bool:
    if isinstance(expected, tuple):
        return False
    if isinstance(actual, str) or isinstance(expected, str):
        return str(actual) == str(expected)
    return math.isclose(float(actual), float(expected), rel_tol=0.0, abs_tol=1e-9)


def values_of(ctx: PaymentContext, features: Mapping[str, float]) -> dict[str, float | str | None]:
    """What conditions read: the features and the context's plain attributes."""
    values: dict[str, float | str | None] = dict(features)
    values["rail"] = ctx.rail
    values["mcc"] = ctx.mcc
    values["currency"] = ctx.currency.lower()
    values["amount_minor"] = float(ctx.amount_minor)
    values["segment"] = ctx.segment
    return values


def evaluate(
    rules: Sequence[Rule], values: Mapping[str, float | str | None], segment: str
) -> Outcome:
    """Radar's order: the first challenge rule, the first allow rule (which ends it), the first
    block rule, the first review rule. The rules' verdict: allow over block over challenge over
    review."""
    fired: dict[Action, Rule] = {}
    for action in ACTION_ORDER:
        for rule in rules:
            if rule.action is action and rule.matches(values, segment):
                fired[action] = rule
                break
        if action is Action.allow and Action.allow in fired:
            break
    for winner in (Action.allow, Action.block, Action.challenge, Action.review):
        if winner in fired:
            return Outcome(tuple(fired.values()), winner)
    return Outcome((), None)


def parse_condition(raw: Mapping[str, Any]) -> Condition:
    """A condition from the API or a stored row; ``ValueError`` says what is wrong with it."""
    unknown = set(raw) - {"feature", "op", "value"}
    if unknown:
        raise ValueError(f"unknown key {sorted(unknown)[0]!r} in a condition")
    feature, op, value = raw.get("feature"), raw.get("op"), raw.get("value")
    if feature not in FEATURE_NAMES and feature not in ATTRIBUTES:
        raise ValueError(f"feature must be one of the features or {', '.join(ATTRIBUTES)}")
    if op not in OPERATORS:
        raise ValueError(f"op must be one of {', '.join(OPERATORS)}")
    # A form-encoded body sends every value as text: a numeric feature's values are numbers.
    numeric = feature in FEATURE_NAMES or feature == "amount_minor"
    if op in ("in", "not_in"):
        if not isinstance(value, list | tuple) or not 1 <= len(value) <= IN_VALUES_MAX:
            raise ValueError(f"value of {op} must be a list of 1 to {IN_VALUES_MAX} values")
        return Condition(feature, op, tuple(_scalar(item, numeric) for item in value))
    if op in _NUMERIC and not numeric:
        raise ValueError(f"{feature} is compared with ==, !=, in or not_in")
    return Condition(feature, op, _scalar(value, numeric))


def _scalar(value: Any, numeric: bool) -> float | str:
    if isinstance(value, bool) or value is None:
        raise ValueError("value must be a number or a string")
    if isinstance(value, int | float):
        if not numeric:  # an MCC sent as a JSON number
            return str(int(value)) if float(value).is_integer() else str(value)
        if not math.isfinite(value):
            raise ValueError("value must be a finite number")
        return float(value)
    if isinstance(value, str) and 0 < len(value) <= VALUE_CHARS_MAX:
        if numeric:
            try:
                number = float(value)
            except ValueError:
                raise ValueError("value must be a number for this feature") from None
            if not math.isfinite(number):
                raise ValueError("value must be a finite number")
            return number
        return value
    raise ValueError(f"value must be a number or a string of 1 to {VALUE_CHARS_MAX} characters")


def _condition(feature: str, op: str, value: float) -> Condition:
    return Condition(feature, op, value)


# Used when a merchant (or a payer's PSP scope) has no rules of its own. Figures are set from
# the simulator's personas: a real customer rarely pays 10 times in an hour.
DEFAULT_RULES: Final[tuple[Rule, ...]] = (
    Rule(
        "default_card_testing",
        Action.block,
        (
            _condition("rail_card", "==", 1),
            _condition("count_1h", ">=", 5),
            _condition("amount_minor", "<=", 100_00),
        ),
        "Card testing: many small card payments in an hour.",
    ),
    Rule(
        "default_velocity",
        Action.challenge,
        (_condition("count_1h", ">=", 10),),
        "Velocity: ten or more payments by this payer in an hour.",
    ),
    Rule(
        "default_impossible_travel",
        Action.challenge,
        (_condition("geo_speed_kmh", ">", 900), _condition("geo_distance_km", ">", 100)),
        "Impossible travel since the payer's last payment.",
    ),
    Rule(
        "default_new_device_spike",
        Action.challenge,
        (_condition("new_device", "==", 1), _condition("amount_to_payer_mean", ">", 8)),
        "An amount far above the payer's usual, from a new device.",
    ),
    Rule(
        "default_mule_fan_in",
        Action.review,
        (_condition("payee_new_payers_24h", ">=", 20), _condition("new_payee", "==", 1)),
        "Fan-in: the payee was paid by twenty or more new payers in 24 hours.",
    ),
)
