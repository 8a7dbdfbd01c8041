"""What a GST tax invoice or credit note says, as plain frozen data: the contract the parts
above fill (invoices, credit notes) and the PDF renders. Pure, no I/O.

Amounts are integers in the currency's minor unit (paise), as everywhere. The totals are not
given but derived from the lines, so a document cannot print a total its lines do not add up
to; what the lines cannot know (the amount paid, the customer balance applied, a credit note's
refund) is given and checked against them. A document that breaks a rule is refused when it is
built (``InvalidDocumentError``, naming the field): the caller is our own code, so that is a
bug to fix, not input to answer.

GST rules the document enforces (CGST Rules 2017, rules 46 and 53): the number has at most 16
characters of letters, digits, "-" and "/"; a supply within one state (the supplier's state is
the place of supply) is taxed CGST + SGST at equal rates, one across states (or abroad) IGST.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Final

from beyondpay.billing.documents.words import rupees_in_words
from beyondpay.kit.money import AMOUNT_MINOR_MAX, Money, normalize_currency

# CGST Rules, rule 46(b): a consecutive serial number "not exceeding sixteen characters".
DOCUMENT_NUMBER_CHARS_MAX: Final = 16
# Stripe's limit on the invoice items of one invoice.
DOCUMENT_LINES_MAX: Final = 250
ADDRESS_LINES_MAX: Final = 6
NAME_CHARS_MAX: Final = 256
ADDRESS_LINE_CHARS_MAX: Final = 200
DESCRIPTION_CHARS_MAX: Final = 500
HSN_SAC_CHARS_MAX: Final = 8  # HSN codes have 4 to 8 digits, SAC codes 6
# Stripe's limit on an invoice's description and footer.
NOTE_CHARS_MAX: Final = 5_000
QUANTITY_MAX: Final = 1_000_000_000
# A tax rate's percentage has at most four decimal places, as Stripe's tax rates do.
RATE_DECIMALS_MAX: Final = 4

_NUMBER_PATTERN: Final = re.compile(r"[A-Za-z0-9/-]+")
_GSTIN_PATTERN: Final = re.compile(r"[0-9]{2}[0-9A-Z]{13}")
_STATE_CODE_PATTERN: Final = re.compile(r"[0-9]{2}")
_HSN_SAC_PATTERN: Final = re.compile(r"[0-9]{4,8}")
_FINANCIAL_YEAR_PATTERN: Final = re.compile(r"[0-9]{4}-[0-9]{2}")


def date_text(value: date) -> str:
    """A date as the document prints it: "1 May 2025" (no ambiguity between 1/5 and 5/1)."""
    return f"{value.day} {value:%B %Y}"


class InvalidDocumentError(ValueError):
    """The document breaks a rule; the message names the field."""


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise InvalidDocumentError(message)


def _check_text(value: str, name: str, chars_max: int) -> None:
    _require(isinstance(value, str) and value.strip() != "", f"{name} must not be empty")
    _require(len(value) <= chars_max, f"{name} has more than {chars_max} characters")


def _check_amount(value: int, name: str, *, signed: bool = False) -> None:
    _require(type(value) is int, f"{name} must be an integer in minor units")
    low = -AMOUNT_MINOR_MAX if signed else 0
    _require(low <= value <= AMOUNT_MINOR_MAX, f"{name} is out of range")


class DocumentKind(StrEnum):
    invoice = "invoice"
    credit_note = "credit_note"


@dataclass(frozen=True, slots=True)
class State:
    """An Indian state or union territory by its GST code ("27", "Maharashtra"); "96" is
    a place of supply outside India (an export)."""

    code: str
    name: str

    def __post_init__(self) -> None:
        _require(bool(_STATE_CODE_PATTERN.fullmatch(self.code)), "state.code is two digits")
        _check_text(self.name, "state.name", NAME_CHARS_MAX)

    def label(self) -> str:
        return f"{self.name} ({self.code})"


@dataclass(frozen=True, slots=True)
class Party:
    """The supplier or the recipient as the document names them. An unregistered recipient
    (a consumer) has no GSTIN; a GSTIN, when given, starts with its state's code."""

    name: str
    address_lines: tuple[str, ...] = ()
    gstin: str | None = None
    state: State | None = None

    def __post_init__(self) -> None:
        _check_text(self.name, "name", NAME_CHARS_MAX)
        _require(len(self.address_lines) <= ADDRESS_LINES_MAX, "too many address lines")
        for line in self.address_lines:
            _check_text(line, "address_lines", ADDRESS_LINE_CHARS_MAX)
        if self.gstin is not None:
            # Shape and state only: the checksum is checked where a GSTIN is taken in (tax ids).
            _require(bool(_GSTIN_PATTERN.fullmatch(self.gstin)), "gstin has 15 characters")
            _require(self.state is not None, "a party with a gstin has a state")
            assert self.state is not None
            _require(self.gstin[:2] == self.state.code, "gstin starts with its state's code")


@dataclass(frozen=True, slots=True)
class TaxCharge:
    """One tax on one line: its rate in percent (9, 2.5, 0.125) and its amount."""

    rate_percent: Decimal
    amount: int

    def __post_init__(self) -> None:
        rate = self.rate_percent
        _require(isinstance(rate, Decimal) and rate.is_finite(), "rate_percent is a Decimal")
        exponent = rate.as_tuple().exponent
        _require(
            isinstance(exponent, int) and -exponent <= RATE_DECIMALS_MAX,
            f"rate_percent has at most {RATE_DECIMALS_MAX} decimal places",
        )
        _require(Decimal(0) <= rate <= Decimal(100), "rate_percent is between 0 and 100")
        _check_amount(self.amount, "tax amount", signed=True)

    def rate_text(self) -> str:
        """ "9%", "2.5%", "0.125%": no trailing zeros."""
        text = format(self.rate_percent.normalize(), "f")
        return f"{text}%"


@dataclass(frozen=True, slots=True)
class DocumentLine:
    """One line: ``amount`` is before discount (usually quantity times unit amount; Stripe's
    fractional unit amounts round it), ``discount`` what discounts took off it, and the taxes
    are charged on the difference, the taxable value. A line with no tax is exempt or
    nil-rated. A negative line is a credit (proration of unused time)."""

    description: str
    quantity: int
    unit_amount: int
    amount: int
    hsn_sac: str | None = None
    discount: int = 0
    cgst: TaxCharge | None = None
    sgst: TaxCharge | None = None
    igst: TaxCharge | None = None

    def __post_init__(self) -> None:
        _check_text(self.description, "lines.description", DESCRIPTION_CHARS_MAX)
        _require(
            type(self.quantity) is int and 0 <= self.quantity <= QUANTITY_MAX,
            f"lines.quantity is between 0 and {QUANTITY_MAX}",
        )
        _check_amount(self.unit_amount, "lines.unit_amount", signed=True)
        _check_amount(self.amount, "lines.amount", signed=True)
        _check_amount(self.discount, "lines.discount")
        # Discounts take off charges; a credit line is already the customer's.
        _require(
            self.discount == 0 or self.discount <= self.amount,
            "lines.discount exceeds the line's amount",
        )
        if self.hsn_sac is not None:
            _require(
                bool(_HSN_SAC_PATTERN.fullmatch(self.hsn_sac)), "lines.hsn_sac is 4 to 8 digits"
            )
        _require(
            (self.cgst is None) == (self.sgst is None), "lines.cgst and lines.sgst go together"
        )
        if self.cgst is not None and self.sgst is not None:
            _require(
                self.cgst.rate_percent == self.sgst.rate_percent,
                "lines.cgst and lines.sgst have equal rates",
            )
        _require(
            self.igst is None or self.cgst is None, "a line is taxed CGST + SGST or IGST, not both"
        )

    @property
    def taxable_amount(self) -> int:
        return self.amount - self.discount

    @property
    def tax_amount(self) -> int:
        return sum(tax.amount for tax in (self.cgst, self.sgst, self.igst) if tax is not None)

    @property
    def total(self) -> int:
        return self.taxable_amount + self.tax_amount


@dataclass(frozen=True, slots=True)
class CreditNoteReference:
    """What a credit note is against (GST rule 53: the original invoice's number and date)
    and why, and how its total reaches the customer: refunded to the original payment,
    credited to the customer's balance, or both."""

    invoice_number: str
    invoice_date: date
    reason: str
    refund_amount: int = 0
    credit_amount: int = 0

    def __post_init__(self) -> None:
        _check_text(self.invoice_number, "credit_note.invoice_number", DOCUMENT_NUMBER_CHARS_MAX)
        _check_text(self.reason, "credit_note.reason", NOTE_CHARS_MAX)
        _check_amount(self.refund_amount, "credit_note.refund_amount")
        _check_amount(self.credit_amount, "credit_note.credit_amount")


def _total(amounts: Iterable[int]) -> int:
    return sum(amounts, 0)


@dataclass(frozen=True, slots=True)
class InvoiceDocument:
    """A tax invoice or a credit note, everything its PDF shows.

    ``financial_year`` is written as the numbering gives it ("2025-26"); ``amount_paid`` and
    ``balance_applied`` (credit from the customer's balance) are an invoice's, never more
    than its total together; ``credit_note`` is given exactly when ``kind`` is a credit note.
    """

    kind: DocumentKind
    number: str
    issue_date: date
    financial_year: str
    supplier: Party
    recipient: Party
    place_of_supply: State
    currency: str
    lines: tuple[DocumentLine, ...]
    due_date: date | None = None
    amount_paid: int = 0
    balance_applied: int = 0
    reverse_charge: bool = False
    notes: str | None = None
    footer: str | None = None
    credit_note: CreditNoteReference | None = None
    # Derived in __post_init__ (kept as fields so that they are computed once).
    intra_state: bool = field(init=False)

    def __post_init__(self) -> None:
        _require(isinstance(self.kind, DocumentKind), "kind is invoice or credit_note")
        self._check_header()
        self._check_lines()
        self._check_amounts()

    def _check_header(self) -> None:
        _check_text(self.number, "number", DOCUMENT_NUMBER_CHARS_MAX)
        _require(
            bool(_NUMBER_PATTERN.fullmatch(self.number)),
            "number has letters, digits, '-' and '/' only",
        )
        _require(
            bool(_FINANCIAL_YEAR_PATTERN.fullmatch(self.financial_year)),
            "financial_year is written 2025-26",
        )
        _require(self.supplier.state is not None, "supplier.state is required")
        _require(
            self.due_date is None or self.due_date >= self.issue_date,
            "due_date is not before issue_date",
        )
        try:
            object.__setattr__(self, "currency", normalize_currency(self.currency))
        except ValueError as error:
            raise InvalidDocumentError(f"currency: {error}") from None
        for name, note in (("notes", self.notes), ("footer", self.footer)):
            if note is not None:
                _check_text(note, name, NOTE_CHARS_MAX)
        is_credit_note = self.kind == DocumentKind.credit_note
        _require(
            (self.credit_note is not None) == is_credit_note,
            "credit_note is given exactly for a credit note",
        )
        assert self.supplier.state is not None
        object.__setattr__(
            self, "intra_state", self.supplier.state.code == self.place_of_supply.code
        )

    def _check_lines(self) -> None:
        _require(0 < len(self.lines) <= DOCUMENT_LINES_MAX, "lines has 1 to 250 lines")
        for line in self.lines:
            if self.intra_state:
                _require(line.igst is None, "a supply within the state has no IGST")
            else:
                _require(line.cgst is None, "a supply across states has no CGST or SGST")

    def _check_amounts(self) -> None:
        _check_amount(self.total, "total")
        _check_amount(self.amount_paid, "amount_paid")
        _check_amount(self.balance_applied, "balance_applied")
        if self.credit_note is not None:
            _require(
                self.amount_paid == 0 and self.balance_applied == 0,
                "a credit note has no amount_paid or balance_applied",
            )
            settled = self.credit_note.refund_amount + self.credit_note.credit_amount
            _require(settled <= self.total, "a credit note refunds or credits at most its total")
        _require(self.amount_due >= 0, "amount_paid and balance_applied exceed the total")

    @property
    def subtotal(self) -> int:
        """The lines' amounts before discounts."""
        return _total(line.amount for line in self.lines)

    @property
    def discount(self) -> int:
        return _total(line.discount for line in self.lines)

    @property
    def taxable_amount(self) -> int:
        return _total(line.taxable_amount for line in self.lines)

    @property
    def cgst(self) -> int:
        return _total(line.cgst.amount for line in self.lines if line.cgst is not None)

    @property
    def sgst(self) -> int:
        return _total(line.sgst.amount for line in self.lines if line.sgst is not None)

    @property
    def igst(self) -> int:
        return _total(line.igst.amount for line in self.lines if line.igst is not None)

    @property
    def tax_amount(self) -> int:
        return self.cgst + self.sgst + self.igst

    @property
    def total(self) -> int:
        return self.taxable_amount + self.tax_amount

    @property
    def amount_due(self) -> int:
        """What the customer still owes on an invoice (nothing on a credit note)."""
        return self.total - self.balance_applied - self.amount_paid

    @property
    def amount_in_words(self) -> str | None:
        """The total in words, for a document in rupees (others have no such line)."""
        return rupees_in_words(self.total) if self.currency == "inr" else None

    def money(self, amount_minor: int) -> Money:
        return Money(amount_minor, self.currency)

    def title(self) -> str:
        return "Tax Invoice" if self.kind == DocumentKind.invoice else "Credit Note"


@dataclass(frozen=True, slots=True)
class DocumentEmail:
    """A document and what its email says beside it: where the customer pays or views it
    online (the hosted invoice page), and the merchant's own words, if any."""

    document: InvoiceDocument
    payment_url: str | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if self.message is not None:
            _check_text(self.message, "message", NOTE_CHARS_MAX)
