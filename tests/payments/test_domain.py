"""The payment intent's state machine, every (status, action) pair, and the platform fee."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beyondpay.kit.money import AMOUNT_MINOR_MAX
from beyondpay.payments.domain import (
    Action,
    Chart,
    Status,
    UnexpectedStateError,
    next_status,
    platform_fee,
)

S, A = Status, Action
# What each action leads to from each status it is allowed in; every other pair is refused.
EXPECTED: dict[tuple[Status, Action], Status] = {
    (S.requires_payment_method, A.set_payment_method): S.requires_confirmation,
    (S.requires_confirmation, A.set_payment_method): S.requires_confirmation,
    (S.requires_action, A.set_payment_method): S.requires_confirmation,
    (S.requires_payment_method, A.update): S.requires_payment_method,
    (S.requires_confirmation, A.update): S.requires_confirmation,
    (S.requires_action, A.update): S.requires_confirmation,
    (S.requires_payment_method, A.confirm): S.requires_confirmation,
    (S.requires_confirmation, A.confirm): S.requires_confirmation,
    (S.requires_action, A.confirm): S.requires_confirmation,
    (S.requires_confirmation, A.rail_requires_action): S.requires_action,
    (S.requires_action, A.rail_requires_action): S.requires_action,
    (S.requires_confirmation, A.rail_pending): S.processing,
    (S.requires_action, A.rail_pending): S.processing,
    (S.processing, A.rail_pending): S.processing,
    (S.requires_confirmation, A.rail_authorized): S.requires_capture,
    (S.requires_action, A.rail_authorized): S.requires_capture,
    (S.processing, A.rail_authorized): S.requires_capture,
    (S.requires_confirmation, A.rail_succeeded): S.succeeded,
    (S.requires_action, A.rail_succeeded): S.succeeded,
    (S.processing, A.rail_succeeded): S.succeeded,
    (S.requires_confirmation, A.rail_failed): S.requires_payment_method,
    (S.requires_action, A.rail_failed): S.requires_payment_method,
    (S.processing, A.rail_failed): S.requires_payment_method,
    (S.requires_capture, A.capture): S.succeeded,
    (S.requires_payment_method, A.cancel): S.canceled,
    (S.requires_confirmation, A.cancel): S.canceled,
    (S.requires_action, A.cancel): S.canceled,
    (S.requires_capture, A.cancel): S.canceled,
}


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(Action))
def test_every_status_and_action(status: Status, action: Action) -> None:
    expected = EXPECTED.get((status, action))
    if expected is None:
        with pytest.raises(UnexpectedStateError) as raised:
            next_status(status, action)
        assert status not in raised.value.allowed
        assert raised.value.allowed, "every action is allowed from some status"
    else:
        assert next_status(status, action) is expected


def test_final_statuses_allow_nothing() -> None:
    for status in (S.succeeded, S.canceled):
        for action in Action:
            with pytest.raises(UnexpectedStateError):
                next_status(status, action)


def test_processing_cannot_be_canceled_or_confirmed_again() -> None:
    # Stripe: the rail may still take the money, so neither is allowed.
    for action in (A.cancel, A.confirm, A.capture):
        with pytest.raises(UnexpectedStateError):
            next_status(S.processing, action)


def test_an_update_during_a_challenge_without_a_method_asks_for_one() -> None:
    assert (
        next_status(S.requires_action, A.update, has_payment_method=False)
        is S.requires_payment_method
    )


@given(
    amount=st.integers(min_value=0, max_value=AMOUNT_MINOR_MAX),
    bps=st.integers(min_value=0, max_value=10_000),
    fixed=st.integers(min_value=0, max_value=1_000_000),
)
def test_fee_is_rounded_half_up_and_never_exceeds_the_amount(
    amount: int, bps: int, fixed: int
) -> None:
    fee = platform_fee(amount, bps, fixed)
    assert 0 <= fee <= amount
    exact = amount * bps / 10_000
    if fee < amount:
        assert abs(fee - fixed - exact) <= 0.5


def test_fee_examples() -> None:
    assert platform_fee(10_000, 200, 0) == 200  # 2 % of ₹100
    assert platform_fee(25, 200, 0) == 1  # 0.5 paise rounds up
    assert platform_fee(24, 200, 0) == 0
    assert platform_fee(100, 200, 300) == 100  # capped at the amount


def test_chart_ids_are_per_merchant_mode_and_currency() -> None:
    test = Chart("acct_AbC", False, "inr")
    live = Chart("acct_AbC", True, "inr")
    assert test.pending not in (live.pending, test.available)
    assert test.merchant_ledger == "merchant:acct_-ab-c:test"
    assert test.rail_clearing("upi") == "platform:test:rail_clearing:upi:inr:acct_AbC"
    assert test.fees != Chart("acct_Other", False, "inr").fees  # no account shared by merchants
