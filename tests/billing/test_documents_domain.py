"""The tax document's contract: totals derived from the lines, GST's rules (CGST + SGST within
a state, IGST across, numbers of at most 16 characters, a credit note names its invoice), and
a refusal naming the field for each broken rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from beyondpay.billing.documents.domain import (
    DocumentKind,
    DocumentLine,
    InvalidDocumentError,
    Party,
    State,
    TaxCharge,
    date_text,
)
from tests.billing.documents_samples import (
    CREDIT_NOTE_WORDS,
    KARNATAKA,
    MAHARASHTRA,
    SUPPLIER,
    TOTAL_MINOR,
    TOTAL_WORDS,
    credit_note,
    invoice,
)

NINE = Decimal("9")


def _line(**changes: Any) -> DocumentLine:
    fields: dict[str, Any] = {
        "description": "Fabric",
        "quantity": 1,
        "unit_amount": 10_000,
        "amount": 10_000,
        "cgst": TaxCharge(NINE, 900),
        "sgst": TaxCharge(NINE, 900),
        **changes,
    }
    return DocumentLine(**fields)


def test_an_intra_state_invoice_adds_up_from_its_lines() -> None:
    document = invoice()
    assert document.intra_state
    assert document.subtotal == 14_195_000
    assert document.discount == 1_000_000
    assert document.taxable_amount == 13_195_000
    assert (document.cgst, document.sgst, document.igst) == (900_000, 900_000, 0)
    assert document.total == TOTAL_MINOR
    assert document.amount_due == TOTAL_MINOR
    assert document.amount_in_words == TOTAL_WORDS
    assert document.title() == "Tax Invoice"


def test_an_inter_state_invoice_is_taxed_igst() -> None:
    document = invoice(intra_state=False)
    assert not document.intra_state
    assert (document.cgst, document.sgst, document.igst) == (0, 0, 1_800_000)
    assert document.total == TOTAL_MINOR


def test_an_export_is_taxed_igst() -> None:
    abroad = State("96", "Other country")
    recipient = Party(name="Lanka Silks", address_lines=("Colombo",))
    document = invoice(intra_state=False, place_of_supply=abroad, recipient=recipient)
    assert not document.intra_state


def test_paid_and_applied_balance_leave_what_is_due() -> None:
    document = invoice(amount_paid=4_000_000, balance_applied=995_000)
    assert document.amount_due == 10_000_000
    assert invoice(amount_paid=TOTAL_MINOR).amount_due == 0


def test_a_credit_note_names_its_invoice_and_says_its_total_in_words() -> None:
    document = credit_note()
    assert document.kind == DocumentKind.credit_note
    assert document.title() == "Credit Note"
    assert document.total == 123_456
    assert document.amount_in_words == CREDIT_NOTE_WORDS


def test_only_rupee_documents_have_words() -> None:
    assert invoice(currency="USD").amount_in_words is None
    assert invoice(currency="USD").currency == "usd"


def test_a_credit_line_lowers_the_total() -> None:
    credit = _line(description="Unused time", unit_amount=-5_000, amount=-5_000)
    credit = replace(credit, cgst=TaxCharge(NINE, -450), sgst=TaxCharge(NINE, -450))
    document = invoice(lines=(_line(), credit))
    assert document.total == 11_800 - 5_900


def test_rates_print_without_trailing_zeros() -> None:
    assert TaxCharge(Decimal("9.00"), 1).rate_text() == "9%"
    assert TaxCharge(Decimal("2.5"), 1).rate_text() == "2.5%"
    assert TaxCharge(Decimal("0.125"), 1).rate_text() == "0.125%"
    assert TaxCharge(Decimal("28"), 1).rate_text() == "28%"


def test_dates_print_day_month_year() -> None:
    assert date_text(date(2025, 5, 1)) == "1 May 2025"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"number": "ASHA/2025-26/0042"}, "number has more than 16"),
        ({"number": "INV 42"}, "number has letters, digits"),
        ({"number": " "}, "number must not be empty"),
        ({"financial_year": "2025"}, "financial_year"),
        ({"due_date": date(2025, 4, 30)}, "due_date"),
        ({"currency": "rupees"}, "currency"),
        ({"lines": ()}, "lines has 1 to 250"),
        ({"lines": (_line(),) * 251}, "lines has 1 to 250"),
        ({"amount_paid": TOTAL_MINOR + 1}, "exceed the total"),
        ({"amount_paid": -1}, "amount_paid is out of range"),
        ({"kind": DocumentKind.credit_note}, "credit_note is given exactly"),
        ({"kind": "invoice"}, "kind is invoice or credit_note"),
        ({"supplier": Party(name="No state")}, "supplier.state is required"),
    ],
)
def test_an_invoice_that_breaks_a_rule_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidDocumentError, match=message):
        invoice(**changes)


def test_the_supply_decides_the_taxes() -> None:
    with pytest.raises(InvalidDocumentError, match="within the state has no IGST"):
        invoice(lines=(_line(cgst=None, sgst=None, igst=TaxCharge(Decimal(18), 1_800)),))
    with pytest.raises(InvalidDocumentError, match="across states has no CGST"):
        invoice(intra_state=False, lines=(_line(),))
    # Exempt lines have no tax either way.
    invoice(intra_state=False, lines=(_line(cgst=None, sgst=None),))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sgst": None}, "cgst and lines.sgst go together"),
        ({"sgst": TaxCharge(Decimal("6"), 600)}, "equal rates"),
        ({"igst": TaxCharge(Decimal("18"), 1_800)}, "CGST \\+ SGST or IGST"),
        ({"discount": 10_001}, "discount exceeds"),
        ({"discount": -1}, "discount is out of range"),
        ({"quantity": -1}, "quantity"),
        ({"hsn_sac": "52A8"}, "hsn_sac is 4 to 8 digits"),
        ({"hsn_sac": "123"}, "hsn_sac is 4 to 8 digits"),
        ({"description": ""}, "description must not be empty"),
        ({"description": "x" * 501}, "description has more than 500"),
        ({"amount": 1.5}, "lines.amount must be an integer"),
    ],
)
def test_a_line_that_breaks_a_rule_is_refused(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidDocumentError, match=message):
        _line(**changes)


@pytest.mark.parametrize(
    ("rate", "message"),
    [
        (Decimal("100.5"), "between 0 and 100"),
        (Decimal("-1"), "between 0 and 100"),
        (Decimal("0.00001"), "at most 4 decimal places"),
        (Decimal("NaN"), "is a Decimal"),
        (9, "is a Decimal"),
    ],
)
def test_a_rate_out_of_bounds_is_refused(rate: object, message: str) -> None:
    with pytest.raises(InvalidDocumentError, match=message):
        TaxCharge(rate, 100)  # type: ignore[arg-type]


def test_a_gstin_belongs_to_its_state() -> None:
    with pytest.raises(InvalidDocumentError, match="starts with its state's code"):
        replace(SUPPLIER, state=KARNATAKA)
    with pytest.raises(InvalidDocumentError, match="has a state"):
        replace(SUPPLIER, state=None)
    with pytest.raises(InvalidDocumentError, match="15 characters"):
        replace(SUPPLIER, gstin="27AAPCA1234E1Z")
    assert replace(SUPPLIER, gstin=None, state=MAHARASHTRA).gstin is None


def test_a_credit_note_settles_at_most_its_total_and_is_never_paid() -> None:
    document = credit_note()
    assert document.credit_note is not None
    too_much = replace(document.credit_note, credit_amount=1)
    with pytest.raises(InvalidDocumentError, match="refunds or credits at most its total"):
        replace(document, credit_note=too_much)
    with pytest.raises(InvalidDocumentError, match="no amount_paid"):
        replace(document, amount_paid=1)
    with pytest.raises(InvalidDocumentError, match="credit_note is given exactly"):
        replace(document, credit_note=None)
