"""The pure rules of UPI PINs and debit-card checks, and the keyed slow hash of a PIN."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from beyondpay.kit.crypto import KeyRing
from beyondpay.psp.banking.domain import (
    CARD_LOCK_S,
    CARD_TRIES_MAX,
    PIN_TRIES_MAX,
    CardCheckState,
    PinProblem,
    after_card_check,
    after_pin_entry,
    card_checks_locked,
    card_expiry_problem,
    pin_problem,
)
from beyondpay.psp.banking.pins import (
    PIN_HASH_BYTES,
    PinHash,
    hash_pin,
    needs_rehash,
    verify_pin,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
ACCOUNT = "bank:sbx1:payer:00112233445566778899aabbccddeeff"


@pytest.mark.parametrize("pin", ["4827", "583917", "9164", "250813", "1357", "2580"])
def test_a_pin_of_4_or_6_unremarkable_digits_is_accepted(pin: str) -> None:
    assert pin_problem(pin) is None


@pytest.mark.parametrize(
    ("pin", "problem"),
    [
        ("", PinProblem.not_digits),
        ("12a4", PinProblem.not_digits),
        ("\uff14\uff18\uff12\uff17", PinProblem.not_digits),  # full-width: digits to Python only
        (" 4827", PinProblem.not_digits),
        ("482", PinProblem.wrong_length),
        ("48271", PinProblem.wrong_length),
        ("4827193", PinProblem.wrong_length),
        ("0000", PinProblem.repeated_digit),
        ("111111", PinProblem.repeated_digit),
        ("1234", PinProblem.sequence),
        ("123456", PinProblem.sequence),
        ("4321", PinProblem.sequence),
        ("654321", PinProblem.sequence),
        ("7890", PinProblem.sequence),
        ("890123", PinProblem.sequence),
        ("0987", PinProblem.sequence),
        ("1212", PinProblem.pattern),
        ("121212", PinProblem.pattern),
        ("123123", PinProblem.pattern),
    ],
)
def test_malformed_and_trivially_weak_pins_are_refused(pin: str, problem: PinProblem) -> None:
    assert pin_problem(pin) is problem


def test_a_pin_cannot_be_the_debit_cards_digits() -> None:
    assert pin_problem("583917", avoid=["583917"]) is PinProblem.card_digits
    assert pin_problem("3917", avoid=["583917"]) is PinProblem.card_digits
    assert pin_problem("5839", avoid=["583917"]) is None
    assert pin_problem("583917", avoid=[""]) is None


def test_no_message_holds_an_example_pin() -> None:
    """An example such as "0000" would quote the PIN of whoever chose it; the only digits are
    the lengths a PIN may have."""
    for problem in PinProblem:
        assert not any(character.isdigit() for character in problem.value.replace("4 or 6", ""))


@given(st.text(alphabet="0123456789", min_size=4, max_size=6))
def test_every_refusal_is_of_a_digit_string_of_the_wrong_length_or_a_weak_one(pin: str) -> None:
    problem = pin_problem(pin)
    if len(pin) == 5:
        assert problem is PinProblem.wrong_length
    elif problem is None:
        assert len(set(pin)) > 1
        assert pin not in ("1234", "123456", "4321", "654321")


def test_wrong_entries_lock_the_pin_at_the_third_and_a_right_one_clears_the_count() -> None:
    tries = 0
    for expected in range(1, PIN_TRIES_MAX):
        outcome = after_pin_entry(tries, correct=False)
        assert (outcome.tries_failed, outcome.locked) == (expected, False)
        tries = outcome.tries_failed
    assert after_pin_entry(tries, correct=True).tries_failed == 0
    assert after_pin_entry(tries, correct=False).locked
    assert PIN_TRIES_MAX == 3


def test_wrong_cards_lock_card_checks_for_a_while_then_count_afresh() -> None:
    state = CardCheckState(0, None)
    for _ in range(CARD_TRIES_MAX - 1):
        state = after_card_check(state, NOW, correct=False)
        assert not card_checks_locked(state, NOW)
    state = after_card_check(state, NOW, correct=False)
    assert card_checks_locked(state, NOW)
    later = NOW + timedelta(seconds=CARD_LOCK_S)
    assert card_checks_locked(state, later - timedelta(seconds=1))
    assert not card_checks_locked(state, later)
    after = after_card_check(state, later, correct=False)
    assert (after.tries_failed, after.locked_until) == (1, None)
    assert after_card_check(after, later, correct=True) == CardCheckState(0, None)


def test_card_expiry_names_the_wrong_field() -> None:
    assert card_expiry_problem(12, 2030, NOW) is None
    assert card_expiry_problem(11, 2026, NOW) is None  # valid through the end of its month
    assert card_expiry_problem(13, 2030, NOW) == "card_expiry_month"
    assert card_expiry_problem(0, 2030, NOW) == "card_expiry_month"
    assert card_expiry_problem(10, 2026, NOW) == "card_expiry_month"
    assert card_expiry_problem(12, 2025, NOW) == "card_expiry_year"
    assert card_expiry_problem(12, 30, NOW) == "card_expiry_year"
    assert card_expiry_problem(12, 2099, NOW) == "card_expiry_year"


def _ring(*key_ids: str) -> KeyRing:
    return KeyRing([(key_id, bytes([index]) * 32) for index, key_id in enumerate(key_ids, 1)])


def test_the_hash_is_keyed_salted_bound_to_its_account_and_not_the_pin() -> None:
    ring = _ring("k1")
    pin = SecretStr("583917")
    stored = hash_pin(ring, pin, ACCOUNT)
    assert len(stored.digest) == PIN_HASH_BYTES
    assert b"583917" not in stored.digest + stored.salt
    assert "583917" not in (stored.digest + stored.salt).hex()
    assert "583917" not in repr(stored)
    assert verify_pin(ring, stored, pin, ACCOUNT)
    assert not verify_pin(ring, stored, SecretStr("583918"), ACCOUNT)
    # Another account's row, another ring: the same hash does not verify.
    assert not verify_pin(ring, stored, pin, ACCOUNT.replace("sbx1", "sbx2"))
    other = KeyRing([("k1", bytes([9]) * 32)])
    assert not verify_pin(other, stored, pin, ACCOUNT)
    # Salted: the same PIN hashes differently each time.
    again = hash_pin(ring, pin, ACCOUNT)
    assert again.salt != stored.salt
    assert again.digest != stored.digest


def test_a_hash_made_before_a_rotation_verifies_and_asks_to_be_rehashed() -> None:
    pin = SecretStr("250813")
    before = _ring("k1")
    stored = hash_pin(before, pin, ACCOUNT)
    assert not needs_rehash(before, stored)
    rotated = KeyRing([("k2", bytes([7]) * 32), ("k1", bytes([1]) * 32)])
    assert verify_pin(rotated, stored, pin, ACCOUNT)
    assert needs_rehash(rotated, stored)
    fresh = hash_pin(rotated, pin, ACCOUNT)
    assert fresh.key_id == "k2"
    assert not needs_rehash(rotated, fresh)
    changed = PinHash(fresh.digest, fresh.salt, fresh.key_id, "argon2id$m=8192,t=1,p=1")
    assert needs_rehash(rotated, changed)


def test_a_check_costs_tens_of_milliseconds() -> None:
    """The figure docs/psp.md quotes; loose bounds, since the machine may be busy."""
    ring = _ring("k1")
    stored = hash_pin(ring, SecretStr("583917"), ACCOUNT)
    started = time.perf_counter()
    checks = 5
    for _ in range(checks):
        verify_pin(ring, stored, SecretStr("583917"), ACCOUNT)
    per_check_ms = (time.perf_counter() - started) / checks * 1000
    print(f"Argon2id PIN check: {per_check_ms:.1f} ms")
    assert 5 < per_check_ms < 500
