"""The invoice's state machine, its numbering, its totals and its timers: pure, no I/O.

Statuses are Stripe's: ``draft → open → paid | void | uncollectible``, and an uncollectible
invoice may still be paid or voided. An invoice moves only through :func:`next_status`, which
names the status an action leads to or raises :class:`UnexpectedStateError` naming the statuses
the action is allowed from; tests/billing/invoices/test_domain.py walks every (status, action)
pair.

Numbers: consecutive per merchant, mode and Indian financial year (1 April to 31 March), at most
16 characters of letters, digits and ``/`` (GST rule 46(b)): ``INV/2627/000001`` is the first
invoice of FY 2026-27 with the default prefix. ``financial_year`` and ``invoice_number`` are a
local version of billing/tax's, which the invoices take over when the parts are wired together.

Seams for the parts being built beside this one (wired in their second round): a line's price
(``line_price``), its taxes and the invoice's (``line_taxes``, ``invoice_taxes``: GST's CGST +
SGST or IGST), and discounts (``invoice_discounts``). Each returns nothing today, so an invoice's
total is the sum of its lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

from beyondpay.kit.money import AMOUNT_MINOR_MAX

# Stripe finalizes an auto-advancing draft about an hour after it is created.
AUTO_ADVANCE_AFTER_S: Final = 3_600
# A send_invoice invoice without days_until_due or due_date is due in 30 days (Stripe's default
# payment terms); at most ten years.
DAYS_UNTIL_DUE_DEFAULT: Final = 30
DAYS_UNTIL_DUE_MAX: Final = 3_650
# Stripe's limit of lines on one invoice, and how many an invoice object embeds.
LINES_PER_INVOICE_MAX: Final = 250
LINES_EMBEDDED_MAX: Final = 10
QUANTITY_MAX: Final = 1_000_000_000
DESCRIPTION_CHARS_MAX: Final = 1_500
FOOTER_CHARS_MAX: Final = 5_000
# GST rule 46(b): a serial number of at most 16 characters, letters, digits, "-" and "/",
# unique for a financial year.
INVOICE_NUMBER_CHARS_MAX: Final = 16
NUMBER_PREFIX_DEFAULT: Final = "INV"
NUMBER_PREFIX_PATTERN: Final = re.compile(r"[A-Z0-9]{1,4}")
SEQUENCE_DIGITS_MIN: Final = 6
FINANCIAL_YEAR_START_MONTH: Final = 4  # India's financial year starts on 1 April
IST: Final = ZoneInfo("Asia/Kolkata")


class Status(StrEnum):
    draft = "draft"
    open = "open"
    paid = "paid"
    void = "void"
    uncollectible = "uncollectible"


class CollectionMethod(StrEnum):
    charge_automatically = "charge_automatically"
    send_invoice = "send_invoice"


class Action(StrEnum):
    """What can happen to an invoice: the merchant's calls, the customer's payment, the
    timers (auto-advance, the due date)."""

    edit = "edit"  # a draft's fields and lines
    edit_finalized = "edit_finalized"  # what stays editable once finalized (metadata, …)
    delete = "delete"
    finalize = "finalize"
    attempt_payment = "attempt_payment"  # a payment tried; it may fail and leave it as it was
    settle = "settle"  # paid: a payment succeeded, out of band, or nothing was due
    send = "send"
    void = "void"
    mark_uncollectible = "mark_uncollectible"
    mark_overdue = "mark_overdue"


S = Status
_UNPAID: Final = frozenset({S.open, S.uncollectible})
_FINALIZED: Final = frozenset({S.open, S.paid, S.void, S.uncollectible})
_MOVES: Final[dict[Action, dict[Status, Status]]] = {
    Action.edit: {S.draft: S.draft},
    Action.edit_finalized: {status: status for status in _FINALIZED},
    Action.delete: {S.draft: S.draft},  # the row goes
    Action.finalize: {S.draft: S.open},
    Action.attempt_payment: {status: status for status in _UNPAID},
    Action.settle: {status: S.paid for status in _UNPAID},
    # Stripe sends an invoice that is open, uncollectible or paid (the email then says nothing
    # of the payment); a draft is finalized first, by the caller.
    Action.send: {S.open: S.open, S.uncollectible: S.uncollectible, S.paid: S.paid},
    Action.void: {status: S.void for status in _UNPAID},
    Action.mark_uncollectible: {S.open: S.uncollectible},
    Action.mark_overdue: {S.open: S.open},
}


class UnexpectedStateError(Exception):
    def __init__(self, status: Status, action: Action) -> None:
        self.status = status
        self.action = action
        self.allowed = sorted(_MOVES[action])
        super().__init__(f"{action} is not allowed in status {status}")


def next_status(status: Status, action: Action) -> Status:
    """The status ``action`` leads to from ``status``; raises if it is not allowed there."""
    moves = _MOVES[action]
    if status not in moves:
        raise UnexpectedStateError(status, action)
    return moves[status]


def allowed_from(action: Action) -> frozenset[Status]:
    return frozenset(_MOVES[action])


# What an update may change once the invoice is finalized: what is printed on it (lines,
# amounts, description, footer, the customer) is fixed, as a GST tax invoice's content is once
# issued. Open ones keep their collection settings; paid and void ones only their metadata.
UPDATABLE_WHEN: Final[dict[Status, frozenset[str]]] = {
    S.open: frozenset({"metadata", "auto_advance", "default_payment_method", "due_date"}),
    S.uncollectible: frozenset({"metadata", "auto_advance", "default_payment_method"}),
    S.paid: frozenset({"metadata"}),
    S.void: frozenset({"metadata"}),
}


# ---- numbering ---------------------------------------------------------------------------------


class InvoiceNumberTooLongError(ValueError):
    """The year's sequence outgrew the 16 characters GST allows with this prefix."""


def financial_year(at: datetime) -> int:
    """The Indian financial year ``at`` falls in, by the year it starts (2026 for 1 April 2026
    to 31 March 2027), on India's clock."""
    local = at.astimezone(IST)
    return local.year if local.month >= FINANCIAL_YEAR_START_MONTH else local.year - 1


def financial_year_code(year: int) -> str:
    """``2627`` for FY 2026-27: the two years' last two digits."""
    return f"{year % 100:02d}{(year + 1) % 100:02d}"


def invoice_number(prefix: str, year: int, sequence: int) -> str:
    """``INV/2627/000001``: the prefix, the financial year and the sequence (at least six
    digits, more when the year needs them), at most 16 characters."""
    if not NUMBER_PREFIX_PATTERN.fullmatch(prefix):
        raise ValueError("an invoice number prefix is 1 to 4 upper-case letters or digits")
    if sequence < 1:
        raise ValueError("invoice sequences start at 1")
    number = f"{prefix}/{financial_year_code(year)}/{sequence:0{SEQUENCE_DIGITS_MIN}d}"
    if len(number) > INVOICE_NUMBER_CHARS_MAX:
        raise InvoiceNumberTooLongError(number)
    return number


# ---- lines and totals --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinePrice:
    """Where a line's unit amount comes from: an amount given with the item, or a price of the
    catalog (``pricing[price]``) and its product."""

    unit_amount: int
    price_id: str | None = None
    product_id: str | None = None


def line_price(
    unit_amount: int, price_id: str | None = None, product_id: str | None = None
) -> LinePrice:
    """The price of a line: its unit amount, and the catalog price it came from, if any."""
    return LinePrice(unit_amount=unit_amount, price_id=price_id, product_id=product_id)


def line_amount(unit_amount: int, quantity: int) -> int:
    """A line's amount, or ``ValueError`` when it would pass the largest amount accepted."""
    amount = unit_amount * quantity
    if abs(amount) > AMOUNT_MINOR_MAX:
        raise ValueError(f"a line's amount may be at most {AMOUNT_MINOR_MAX} in minor units")
    return amount


@dataclass(frozen=True, slots=True)
class TaxAmount:
    """One tax on a line or an invoice, Stripe's ``total_taxes`` item: GST's CGST and SGST, or
    IGST, when billing/tax is wired in."""

    amount: int
    tax_rate: str
    taxable_amount: int
    inclusive: bool = False
    taxability_reason: str = "standard_rated"


def line_taxes(amount: int, currency: str) -> tuple[TaxAmount, ...]:
    """Seam: the taxes of one line. None until GST lines are wired in (billing/tax)."""
    return ()


def invoice_taxes(line_taxes_by_line: Sequence[Sequence[TaxAmount]]) -> tuple[TaxAmount, ...]:
    """The invoice's ``total_taxes``: its lines' taxes, summed per tax rate."""
    summed: dict[tuple[str, bool], list[int]] = {}
    for taxes in line_taxes_by_line:
        for tax in taxes:
            amounts = summed.setdefault((tax.tax_rate, tax.inclusive), [0, 0])
            amounts[0] += tax.amount
            amounts[1] += tax.taxable_amount
    return tuple(
        TaxAmount(amount=amount, tax_rate=rate, taxable_amount=taxable, inclusive=inclusive)
        for (rate, inclusive), (amount, taxable) in summed.items()
    )


def invoice_discounts(subtotal: int) -> int:
    """Seam: the invoice's discount (coupons and promotion codes, billing/catalog). None yet."""
    return 0


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: int
    discount: int
    taxes: tuple[TaxAmount, ...]
    total_excluding_tax: int
    total: int
    amount_due: int


def totals(line_amounts: Sequence[int], taxes: Sequence[TaxAmount] = ()) -> Totals:
    """Stripe's invoice arithmetic: the subtotal of the lines, less discounts, plus exclusive
    taxes (inclusive ones are inside the lines already), is the total; what is due is the
    total, never below zero (a negative total would be a credit, which credit notes bring)."""
    subtotal = sum(line_amounts)
    discount = invoice_discounts(subtotal)
    excluding_tax = subtotal - discount
    exclusive = sum(tax.amount for tax in taxes if not tax.inclusive)
    total = excluding_tax + exclusive
    return Totals(
        subtotal=subtotal,
        discount=discount,
        taxes=tuple(taxes),
        total_excluding_tax=excluding_tax,
        total=total,
        amount_due=max(total, 0),
    )


# ---- timers ------------------------------------------------------------------------------------


def finalizes_at(created_at: datetime) -> datetime:
    """When an auto-advancing draft is finalized: about an hour after its creation."""
    return created_at + timedelta(seconds=AUTO_ADVANCE_AFTER_S)


def due_date_after(created_at: datetime, days_until_due: int) -> datetime:
    """Stripe's ``days_until_due``: the number of days from the invoice's creation."""
    return created_at + timedelta(days=days_until_due)


def is_overdue(status: Status, due_date: datetime | None, now: datetime) -> bool:
    return status is Status.open and due_date is not None and due_date <= now
