"""The rules of UPI PINs and debit-card checks. Pure: no I/O, no clock of its own.

A UPI PIN belongs to a bank account, as NPCI has it: 4 or 6 digits, set (and reset after a lock)
only by someone who holds the account's debit card, changed with the old PIN. A PIN anyone would
try first (one digit repeated, a run up or down the keypad's digits, a short pattern repeated,
the card's own digits) is refused. ``PIN_TRIES_MAX`` wrong entries in a row lock the PIN (NPCI's
Z6) until it is set again with the card; a right entry clears the count.

Debit-card checks (linking an account, setting a PIN) are counted per payer and bank:
``CARD_TRIES_MAX`` wrong cards in a row lock that bank's card checks for ``CARD_LOCK_S``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import Final

PIN_LENGTHS: Final = (4, 6)
# Wrong entries in a row that lock a PIN (NPCI: Z6 "number of PIN tries exceeded").
PIN_TRIES_MAX: Final = 3
# Wrong debit cards in a row, per payer and bank, before card checks stop for a while.
CARD_TRIES_MAX: Final = 3
CARD_LOCK_S: Final = 24 * 60 * 60
CARD_LAST_DIGITS: Final = 6
# How far ahead a card's expiry year may be: further is a typing mistake.
CARD_EXPIRY_YEARS_AHEAD_MAX: Final = 20
# Widths of a group of digits repeated to make a weak PIN: 1212, 121212, 123123.
PATTERN_WIDTHS: Final = (2, 3)


class PinProblem(StrEnum):
    """Why a proposed PIN is refused. No message holds a digit: an example such as "0000"
    would quote the PIN of whoever chose it."""

    not_digits = "A UPI PIN is made of digits only."
    wrong_length = "A UPI PIN has 4 or 6 digits."
    repeated_digit = "A UPI PIN cannot be one digit repeated: choose a harder one."
    sequence = "A UPI PIN cannot be a run of consecutive digits, up or down: choose a harder one."
    pattern = "A UPI PIN cannot be a short group of digits repeated: choose a harder one."
    card_digits = "A UPI PIN cannot be the last digits of the debit card: choose another."
    unchanged = "The new UPI PIN must differ from the current one."


def pin_problem(pin: str, *, avoid: Iterable[str] = ()) -> PinProblem | None:
    """Why ``pin`` cannot be a UPI PIN, or None. ``avoid`` holds digit strings the PIN must not
    end or equal (the debit card's last digits): a PIN is as weak as what is printed beside it."""
    if not pin.isascii() or not pin.isdigit():
        return PinProblem.not_digits
    if len(pin) not in PIN_LENGTHS:
        return PinProblem.wrong_length
    if len(set(pin)) == 1:
        return PinProblem.repeated_digit
    steps = {(int(later) - int(earlier)) % 10 for earlier, later in pairwise(pin)}
    if steps in ({1}, {9}):  # 1234, 7890, 4321, 0987: each digit one up (or down) the last
        return PinProblem.sequence
    if any(_repeats(pin, width) for width in PATTERN_WIDTHS if width < len(pin)):
        return PinProblem.pattern
    if any(digits and (pin == digits or digits.endswith(pin)) for digits in avoid):
        return PinProblem.card_digits
    return None


def _repeats(pin: str, width: int) -> bool:
    return len(pin) % width == 0 and pin == pin[:width] * (len(pin) // width)


@dataclass(frozen=True, slots=True)
class TryOutcome:
    """A PIN's count of wrong entries after one more entry, and whether it is now locked."""

    tries_failed: int
    locked: bool


def after_pin_entry(tries_failed: int, *, correct: bool) -> TryOutcome:
    """A right entry clears the count; the ``PIN_TRIES_MAX``-th wrong one in a row locks."""
    if correct:
        return TryOutcome(0, locked=False)
    tries = tries_failed + 1
    return TryOutcome(tries, locked=tries >= PIN_TRIES_MAX)


@dataclass(frozen=True, slots=True)
class CardCheckState:
    tries_failed: int
    locked_until: datetime | None


def card_checks_locked(state: CardCheckState, now: datetime) -> bool:
    return state.locked_until is not None and now < state.locked_until


def after_card_check(state: CardCheckState, now: datetime, *, correct: bool) -> CardCheckState:
    """A right card clears the count; the ``CARD_TRIES_MAX``-th wrong one in a row locks card
    checks until ``CARD_LOCK_S`` from now. Tries made after a lock ran out count afresh."""
    if correct:
        return CardCheckState(0, None)
    expired = state.locked_until is not None and now >= state.locked_until
    tries = (0 if expired else state.tries_failed) + 1
    if tries >= CARD_TRIES_MAX:
        return CardCheckState(0, now + timedelta(seconds=CARD_LOCK_S))
    return CardCheckState(tries, None)


def card_expiry_problem(month: int, year: int, now: datetime) -> str | None:
    """Why an expiry date cannot be a valid card's, naming the parameter (or None)."""
    if not 1 <= month <= 12:
        return "card_expiry_month"
    if not now.year <= year <= now.year + CARD_EXPIRY_YEARS_AHEAD_MAX:
        return "card_expiry_year"
    if (year, month) < (now.year, now.month):
        return "card_expiry_month"
    return None
