"""Checkout's pure rules: what a payment's report does to a session, every case; the bounds
of ``expires_at``; ``success_url``'s template variable; a discount shared among the lines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction
from itertools import product

from hypothesis import given
from hypothesis import strategies as st

from beyondpay.checkout.domain import (
    Change,
    Heard,
    Outcome,
    PaymentStatus,
    Status,
    expires_at_problem,
    hear,
    line_discounts,
    success_url_for,
)


def test_a_payment_succeeding_completes_an_open_session() -> None:
    assert hear(Status.open, PaymentStatus.unpaid, Outcome.succeeded) == Heard(
        Status.complete, PaymentStatus.paid, Change.completed
    )


def test_a_payment_submitted_completes_unpaid_then_its_outcome_follows() -> None:
    submitted = hear(Status.open, PaymentStatus.unpaid, Outcome.submitted)
    assert submitted == Heard(Status.complete, PaymentStatus.unpaid, Change.completed)
    assert hear(Status.complete, PaymentStatus.unpaid, Outcome.succeeded) == Heard(
        Status.complete, PaymentStatus.paid, Change.async_payment_succeeded
    )
    assert hear(Status.complete, PaymentStatus.unpaid, Outcome.failed) == Heard(
        Status.complete, PaymentStatus.unpaid, Change.async_payment_failed
    )


def test_everything_else_changes_nothing() -> None:
    changing = {
        (Status.open, PaymentStatus.unpaid, Outcome.succeeded),
        (Status.open, PaymentStatus.unpaid, Outcome.submitted),
        (Status.complete, PaymentStatus.unpaid, Outcome.succeeded),
        (Status.complete, PaymentStatus.unpaid, Outcome.failed),
    }
    for case in product(Status, PaymentStatus, Outcome):
        if case in changing or (case[0] != Status.complete and case[1] != PaymentStatus.unpaid):
            continue  # changing, or a state no session has (open or expired is unpaid)
        status, payment_status, _ = case
        assert hear(*case) == Heard(status, payment_status, None), case


def test_expires_at_is_30_minutes_to_24_hours_away() -> None:
    made = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    assert expires_at_problem(made, made + timedelta(minutes=30)) is None
    assert expires_at_problem(made, made + timedelta(hours=24)) is None
    assert expires_at_problem(made, made + timedelta(minutes=29, seconds=59)) is not None
    assert expires_at_problem(made, made + timedelta(hours=24, seconds=1)) is not None


def test_the_session_id_replaces_its_template_variable() -> None:
    assert (
        success_url_for(
            "https://s.example/ok?s={CHECKOUT_SESSION_ID}&again={CHECKOUT_SESSION_ID}", "cs_test_1"
        )
        == "https://s.example/ok?s=cs_test_1&again=cs_test_1"
    )
    assert success_url_for("https://s.example/ok", "cs_test_1") == "https://s.example/ok"


@given(
    lines=st.lists(
        st.tuples(st.integers(min_value=0, max_value=10**9), st.booleans()),
        min_size=1,
        max_size=20,
    ),
    fraction=st.fractions(min_value=0, max_value=1),
)
def test_a_discount_is_shared_exactly_among_the_lines_it_applies_to(
    lines: list[tuple[int, bool]], fraction: Fraction
) -> None:
    subtotals = [amount for amount, _ in lines]
    eligible = [chosen for _, chosen in lines]
    base = sum(amount for amount, chosen in lines if chosen)
    off = int(base * fraction)
    shares = line_discounts(subtotals, eligible, off, "inr")
    assert sum(shares) == off
    for share, (amount, chosen) in zip(shares, lines, strict=True):
        assert 0 <= share <= amount
        assert chosen or share == 0
