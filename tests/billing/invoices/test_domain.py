"""The invoice's pure rules: every (status, action) pair of the state machine against Stripe's
table ("Status transitions and finalization"), the Indian financial year and its invoice
numbers (consecutive, at most 16 characters), the totals and the timers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from beyondpay.billing.invoices.domain import (
    Action,
    Status,
    TaxAmount,
    UnexpectedStateError,
    allowed_from,
    due_date_after,
    finalizes_at,
    invoice_taxes,
    is_overdue,
    line_amount,
    next_status,
    totals,
)
from beyondpay.kit.money import AMOUNT_MINOR_MAX

S = Status
A = Action
# Every allowed move; any pair not here is refused.
EXPECTED: dict[tuple[Status, Action], Status] = {
    (S.draft, A.edit): S.draft,
    (S.draft, A.delete): S.draft,
    (S.draft, A.finalize): S.open,
    **{(status, A.edit_finalized): status for status in (S.open, S.paid, S.void, S.uncollectible)},
    (S.open, A.attempt_payment): S.open,
    (S.uncollectible, A.attempt_payment): S.uncollectible,
    (S.open, A.settle): S.paid,
    (S.uncollectible, A.settle): S.paid,
    (S.open, A.send): S.open,
    (S.uncollectible, A.send): S.uncollectible,
    (S.paid, A.send): S.paid,
    (S.open, A.void): S.void,
    (S.uncollectible, A.void): S.void,
    (S.open, A.mark_uncollectible): S.uncollectible,
    (S.open, A.mark_overdue): S.open,
}


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(Action))
def test_every_status_and_action(status: Status, action: Action) -> None:
    expected = EXPECTED.get((status, action))
    if expected is None:
        with pytest.raises(UnexpectedStateError) as refused:
            next_status(status, action)
        assert refused.value.allowed == sorted(allowed_from(action))
        assert status not in refused.value.allowed
    else:
        assert next_status(status, action) is expected


def test_paid_and_void_are_final_but_for_metadata_and_a_paid_invoices_email() -> None:
    for final in (S.paid, S.void):
        moves = {action for action in Action if (final, action) in EXPECTED}
        assert moves <= {A.edit_finalized, A.send}
    assert next_status(S.uncollectible, A.settle) is S.paid  # Stripe: uncollectible may be paid


# Numbers and financial years are billing/tax's (tests/billing/tax/test_domain.py); the
# invoices' use of them (consecutive, the rollover on 1 April) is tested over HTTP in
# test_api.py and test_timers.py.


def test_totals() -> None:
    figures = totals([150_000, 2_500, -500])
    assert (figures.subtotal, figures.total, figures.amount_due) == (152_000, 152_000, 152_000)
    assert totals([]).amount_due == 0
    assert totals([-100]).total == -100 and totals([-100]).amount_due == 0
    # The tax seam: exclusive taxes add to the total, inclusive ones are in the lines already.
    taxes = invoice_taxes(
        [
            (TaxAmount(900, "txr_cgst", 10_000), TaxAmount(900, "txr_sgst", 10_000)),
            (TaxAmount(90, "txr_cgst", 1_000),),
            (TaxAmount(50, "txr_incl", 1_000, inclusive=True),),
        ]
    )
    assert {(tax.tax_rate, tax.amount, tax.taxable_amount) for tax in taxes} == {
        ("txr_cgst", 990, 11_000),
        ("txr_sgst", 900, 10_000),
        ("txr_incl", 50, 1_000),
    }
    with_taxes = totals([11_000], taxes)
    # total_excluding_tax leaves the inclusive tax out too.
    assert (with_taxes.total_excluding_tax, with_taxes.total) == (10_950, 11_000 + 990 + 900)


def test_line_amounts_are_bounded() -> None:
    assert line_amount(1_500, 3) == 4_500
    assert line_amount(-200, 2) == -400
    with pytest.raises(ValueError, match="at most"):
        line_amount(AMOUNT_MINOR_MAX, 2)


def test_timers() -> None:
    created = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert finalizes_at(created) == created + timedelta(hours=1)
    due = due_date_after(created, 30)
    assert due == datetime(2026, 12, 31, 10, 0, tzinfo=UTC)
    assert not is_overdue(S.open, due, due - timedelta(seconds=1))
    assert is_overdue(S.open, due, due)
    assert not is_overdue(S.paid, due, due + timedelta(days=1))
    assert not is_overdue(S.open, None, due)
