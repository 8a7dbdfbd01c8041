"""Credit notes' pure rules: shares of an invoice line's discount and GST that sum exactly
however the line is cut (a property test), SGST as the rest of the tax so each share keeps the
invoice's split, lines refused naming their parameter, and where a total goes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beyondpay.billing.credit_notes.domain import (
    AskedLine,
    CreditNoteInputError,
    InvoiceLine,
    Kind,
    LineType,
    credit_lines,
    credit_of_line,
    settlement,
    share,
    totals,
)
from beyondpay.billing.invoices.domain import TaxAmount


def _line(amount: int, tax: int, *, inter_state: bool = False, discount: int = 0) -> InvoiceLine:
    cgst = 0 if inter_state else tax // 2
    gst = TaxAmount(
        amount=tax,
        tax_rate="txr_gst",
        taxable_amount=amount - discount,
        cgst=cgst,
        sgst=0 if inter_state else tax - cgst,
        igst=tax if inter_state else 0,
    )
    return InvoiceLine(
        line_id="il_1",
        amount=amount,
        quantity=1,
        unit_amount=amount,
        description="Consulting",
        discount=discount,
        taxes=(gst,),
        credited=0,
    )


@given(
    amount=st.integers(min_value=1, max_value=10**9),
    rate_basis_points=st.integers(min_value=0, max_value=2_800),
    inter_state=st.booleans(),
    cuts=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=8),
    data=st.data(),
)
def test_shares_of_a_line_cut_anyhow_sum_to_the_line(
    amount: int, rate_basis_points: int, inter_state: bool, cuts: list[int], data: st.DataObject
) -> None:
    discount = data.draw(st.integers(min_value=0, max_value=amount - 1))
    tax = (amount - discount) * rate_basis_points // 10_000
    line = _line(amount, tax, inter_state=inter_state, discount=discount)
    credited, made = 0, []
    for cut in cuts:
        take = min(cut, amount - credited)
        if take <= 0:
            break
        made.append(credit_of_line(line, take, credited))
        credited += take
    if credited < amount:
        made.append(credit_of_line(line, amount - credited, credited))
    [tax] = line.taxes
    assert sum(credit.amount for credit in made) == amount
    assert sum(credit.taxes[0].amount for credit in made) == tax.amount
    for part in ("cgst", "sgst", "igst", "taxable_amount"):
        assert sum(getattr(credit.taxes[0], part) for credit in made) == getattr(tax, part)
    for credit in made:
        [each] = credit.taxes
        assert each.cgst + each.sgst + each.igst == each.amount
        assert (each.igst == 0) != inter_state or each.amount == 0


def test_a_share_is_a_difference_of_floors() -> None:
    assert share(18_000, 0, 33_333, 100_000) == 5_999
    assert share(18_000, 33_333, 66_667, 100_000) == 12_001
    assert share(9_000, 0, 33_333, 100_000) + share(9_000, 33_333, 66_667, 100_000) == 9_000


def test_a_discount_is_shared_like_a_tax() -> None:
    line = InvoiceLine(
        line_id="il_1",
        amount=10_000,
        quantity=4,
        unit_amount=2_500,
        description=None,
        discount=1_000,
        taxes=(),
        credited=0,
    )
    [credit] = credit_lines(
        [line],
        [
            AskedLine(
                type=LineType.invoice_line_item,
                param="lines[0]",
                invoice_line_item="il_1",
                quantity=1,
            )
        ],
    )
    assert (credit.amount, credit.discount, credit.total, credit.quantity) == (2_500, 250, 2_250, 1)


def test_lines_are_refused_naming_their_parameter() -> None:
    line = _line(10_000, 1_800)
    asked = AskedLine(type=LineType.invoice_line_item, param="lines[1]", invoice_line_item="il_1")
    cases = [
        (asked, "lines[1][quantity]"),
        (replace(asked, amount=10_001), "lines[1][amount]"),
        (replace(asked, quantity=2), "lines[1][quantity]"),
        (
            replace(asked, invoice_line_item="il_2", amount=1),
            "lines[1][invoice_line_item]",
        ),
        (
            AskedLine(type=LineType.custom_line_item, param="lines[1]", description="x"),
            "lines[1][unit_amount]",
        ),
    ]
    for each, param in cases:
        with pytest.raises(CreditNoteInputError) as refused:
            credit_lines([line], [each])
        assert refused.value.param == param
    # The same line twice: the second credits only what the first left.
    half = replace(asked, amount=6_000)
    with pytest.raises(CreditNoteInputError) as refused:
        credit_lines([line], [half, replace(half, param="lines[2]")])
    assert refused.value.param == "lines[2][amount]"


def test_where_a_total_goes() -> None:
    assert settlement(Kind.post_payment, 1_000, None, None, None).credit == 1_000
    split = settlement(Kind.post_payment, 1_000, 600, None, 100)
    assert (split.refund, split.credit, split.out_of_band) == (600, 300, 100)
    with pytest.raises(CreditNoteInputError) as refused:
        settlement(Kind.post_payment, 1_000, 600, 500, None)
    assert refused.value.param == "refund_amount"
    with pytest.raises(CreditNoteInputError) as refused:
        settlement(Kind.pre_payment, 1_000, None, None, 5)
    assert refused.value.param == "out_of_band_amount"
    assert totals([], 700).total == 700
