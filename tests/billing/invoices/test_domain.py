"""The invoice's pure rules: every (status, action) pair of the state machine against Stripe's
table ("Status transitions and finalization"), the Indian financial year and its invoice
numbers (consecutive, at most 16 characters), the totals and the timers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beyondpay.billing.invoices.domain import (
    INVOICE_NUMBER_CHARS_MAX,
    Action,
    InvoiceNumberTooLongError,
    Status,
    TaxAmount,
    UnexpectedStateError,
    allowed_from,
    due_date_after,
    finalizes_at,
    financial_year,
    financial_year_code,
    invoice_number,
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


def _ist(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    # India is UTC+05:30 all year.
    return datetime(year, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=5, minutes=30)


def test_the_financial_year_starts_on_1_april_in_india() -> None:
    assert financial_year(_ist(2027, 3, 31, 23, 59)) == 2026
    assert financial_year(_ist(2027, 4, 1, 0, 0)) == 2027
    # 1 April 00:00 in India is still 31 March in UTC: India's date decides.
    assert financial_year(datetime(2027, 3, 31, 18, 30, tzinfo=UTC)) == 2027
    assert financial_year(datetime(2027, 3, 31, 18, 29, tzinfo=UTC)) == 2026
    assert financial_year(_ist(2027, 1, 15)) == 2026


def test_financial_year_codes() -> None:
    assert financial_year_code(2026) == "2627"
    assert financial_year_code(1999) == "9900"
    assert financial_year_code(2009) == "0910"


def test_invoice_numbers() -> None:
    assert invoice_number("INV", 2026, 1) == "INV/2627/000001"
    assert invoice_number("A", 2027, 42) == "A/2728/000042"
    # The sequence widens past six digits while the number fits 16 characters...
    assert invoice_number("INV", 2026, 1_000_000) == "INV/2627/1000000"
    assert len(invoice_number("INV", 2026, 9_999_999)) == INVOICE_NUMBER_CHARS_MAX
    # ...and a prefix too long for it is refused.
    assert invoice_number("ABCD", 2026, 999_999) == "ABCD/2627/999999"
    with pytest.raises(InvoiceNumberTooLongError):
        invoice_number("ABCD", 2026, 1_000_000)
    for prefix in ("", "inv", "ABCDE", "IN-V"):
        with pytest.raises(ValueError, match="prefix"):
            invoice_number(prefix, 2026, 1)
    with pytest.raises(ValueError, match="start at 1"):
        invoice_number("INV", 2026, 0)


GST_SERIAL = re.compile(r"[A-Za-z0-9/-]{1,16}")


@given(
    prefix=st.from_regex(r"[A-Z0-9]{1,4}", fullmatch=True),
    year=st.integers(min_value=2000, max_value=2998),
    sequence=st.integers(min_value=1, max_value=99_999_999),
)
def test_every_number_given_is_a_gst_serial_or_refused(
    prefix: str, year: int, sequence: int
) -> None:
    try:
        number = invoice_number(prefix, year, sequence)
    except InvoiceNumberTooLongError:
        assert len(prefix) + 2 + 4 + max(len(str(sequence)), 6) > INVOICE_NUMBER_CHARS_MAX
        return
    assert GST_SERIAL.fullmatch(number)
    assert int(number.rsplit("/", 1)[1]) == sequence  # the sequence reads back
    assert number.split("/")[1] == financial_year_code(year)


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
