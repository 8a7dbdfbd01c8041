"""The invoice's state machine, its numbering, its totals and its timers: pure, no I/O.

Statuses are Stripe's: ``draft → open → paid | void | uncollectible``, and an uncollectible
invoice may still be paid or voided. An invoice moves only through :func:`next_status`, which
names the status an action leads to or raises :class:`UnexpectedStateError` naming the statuses
the action is allowed from; tests/billing/invoices/test_domain.py walks every (status, action)
pair.

Numbers: consecutive per merchant, mode and Indian financial year (1 April to 31 March), made
by billing/tax's ``invoice_number`` and ``financial_year_at``: exactly 16 characters (GST rule
46(b)), ``INV/2627/0000001`` the first invoice of FY 2026-27 with the default prefix.

A line's price (``line_price``: an amount, or a catalog price), its taxes and the invoice's
(``line_taxes``, ``invoice_taxes``: per tax rate, GST's CGST + SGST or IGST by the place of
supply, through billing/tax's ``line_tax`` and ``gst_split``), and discounts
(``line_discounts``: coupons' terms from billing/catalog, taken off before tax).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

from beyondpay.billing.catalog.domain import CouponTerms, applies_to_product, discount_amount
from beyondpay.billing.tax.domain import gst_split, line_tax
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
# The prefix of a merchant's invoice numbers until it sets one; billing/tax's ``invoice_number``
# makes the number (GST rule 46(b): 16 characters, one series per financial year).
NUMBER_PREFIX_DEFAULT: Final = "INV"
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
    """One tax on a line or an invoice, Stripe's ``total_taxes`` item, and (a GST rate) how GST
    charges it: CGST + SGST (or UTGST) within a state, IGST across states."""

    amount: int
    tax_rate: str
    taxable_amount: int
    inclusive: bool = False
    taxability_reason: str = "standard_rated"
    cgst: int = 0
    sgst: int = 0
    igst: int = 0

    def stored(self) -> dict[str, Any]:
        return {
            "tax_rate": self.tax_rate,
            "amount": self.amount,
            "taxable_amount": self.taxable_amount,
            "inclusive": self.inclusive,
            "cgst": self.cgst,
            "sgst": self.sgst,
            "igst": self.igst,
        }

    @classmethod
    def of_stored(cls, stored: dict[str, Any]) -> TaxAmount:
        return cls(
            amount=int(stored["amount"]),
            tax_rate=str(stored["tax_rate"]),
            taxable_amount=int(stored["taxable_amount"]),
            inclusive=bool(stored["inclusive"]),
            cgst=int(stored["cgst"]),
            sgst=int(stored["sgst"]),
            igst=int(stored["igst"]),
        )


@dataclass(frozen=True, slots=True)
class RateTerms:
    """A tax rate as a line applies it: GST rates (``tax_type`` gst or igst) are the whole GST
    rate (18%), split by the place of supply, and charged only by a registered supplier."""

    tax_rate: str
    rate_basis_points: int
    inclusive: bool
    gst: bool


@dataclass(frozen=True, slots=True)
class GstPlace:
    """Where an invoice's GST goes: the supplier's state and the place of supply."""

    supplier_state: str
    place_of_supply: str


def _split(tax: int, gst: GstPlace) -> tuple[int, int, int]:
    """``(cgst, sgst, igst)`` of a tax (a credit's negative tax mirrors a charge's)."""
    split = gst_split(
        tax_minor=abs(tax), supplier_state=gst.supplier_state, place_of_supply=gst.place_of_supply
    )
    sign = -1 if tax < 0 else 1
    return sign * split.cgst_minor, sign * split.state_minor, sign * split.igst_minor


def line_taxes(
    taxable_base: int,
    rates: Sequence[RateTerms],
    gst: GstPlace | None,
    *,
    price_inclusive: bool = False,
) -> tuple[TaxAmount, ...]:
    """The taxes of one line of ``taxable_base`` (its amount less its discounts), one per rate.
    A rate is inclusive when it says so or the line's price does (``tax_behavior``
    inclusive): the base then holds the tax. A GST rate on an invoice without GST (the merchant
    has no GSTIN) is not charged: an unregistered supplier may not collect GST."""
    taxes = []
    for rate in rates:
        if rate.gst and gst is None:
            continue
        inclusive = rate.inclusive or price_inclusive
        taxable, tax = line_tax(taxable_base, rate.rate_basis_points, inclusive)
        cgst, sgst, igst = _split(tax, gst) if rate.gst and gst is not None else (0, 0, 0)
        taxes.append(
            TaxAmount(
                amount=tax,
                tax_rate=rate.tax_rate,
                taxable_amount=taxable,
                inclusive=inclusive,
                cgst=cgst,
                sgst=sgst,
                igst=igst,
            )
        )
    return tuple(taxes)


def invoice_taxes(line_taxes_by_line: Sequence[Sequence[TaxAmount]]) -> tuple[TaxAmount, ...]:
    """The invoice's ``total_taxes``: its lines' taxes, summed per tax rate."""
    summed: dict[tuple[str, bool], list[int]] = {}
    for taxes in line_taxes_by_line:
        for tax in taxes:
            amounts = summed.setdefault((tax.tax_rate, tax.inclusive), [0, 0, 0, 0, 0])
            for index, part in enumerate(
                (tax.amount, tax.taxable_amount, tax.cgst, tax.sgst, tax.igst)
            ):
                amounts[index] += part
    return tuple(
        TaxAmount(
            amount=amount,
            tax_rate=rate,
            taxable_amount=taxable,
            inclusive=inclusive,
            cgst=cgst,
            sgst=sgst,
            igst=igst,
        )
        for (rate, inclusive), (amount, taxable, cgst, sgst, igst) in summed.items()
    )


@dataclass(frozen=True, slots=True)
class DiscountLine:
    """What discounts need of a line: its amount, whether it may be discounted, its product."""

    amount: int
    discountable: bool
    product_id: str | None


def line_discounts(
    lines: Sequence[DiscountLine],
    discounts: Sequence[tuple[str, CouponTerms]],
    currency: str,
) -> list[list[tuple[str, int]]]:
    """Per line, what each discount (by its id, in order) takes off it. Each discount applies to
    what the ones before it left, on the discountable lines of positive amount its coupon
    applies to: a percentage line by line, an amount off once across them, shared in proportion
    to what they have left (the paise that do not divide go to the first lines), never more
    than they have left. GST is charged on what remains (the taxable value)."""
    left = [line.amount if line.discountable and line.amount > 0 else 0 for line in lines]
    taken: list[list[tuple[str, int]]] = [[] for _ in lines]
    for discount_id, terms in discounts:
        applies = [
            index
            for index, line in enumerate(lines)
            if left[index] > 0 and applies_to_product(terms, line.product_id)
        ]
        if terms.percent_off_basis_points is not None:
            shares = {index: discount_amount(left[index], currency, terms) for index in applies}
        else:
            base = sum(left[index] for index in applies)
            off = discount_amount(base, currency, terms) if base > 0 else 0
            shares = {index: off * left[index] // base for index in applies} if base else {}
            rest = off - sum(shares.values())
            for index in applies:
                extra = min(rest, left[index] - shares[index])
                shares[index] += extra
                rest -= extra
        for index, share in shares.items():
            if share > 0:
                left[index] -= share
                taken[index].append((discount_id, share))
    return taken


@dataclass(frozen=True, slots=True)
class Totals:
    subtotal: int
    discount: int
    taxes: tuple[TaxAmount, ...]
    total_excluding_tax: int
    total: int
    amount_due: int


def totals(
    line_amounts: Sequence[int], taxes: Sequence[TaxAmount] = (), discount: int = 0
) -> Totals:
    """Stripe's invoice arithmetic: the subtotal of the lines, less discounts, plus exclusive
    taxes (inclusive ones are inside the lines already), is the total; what is due is the
    total, never below zero (a negative total would be a credit, which credit notes bring).
    ``total_excluding_tax`` leaves every tax out, inclusive ones too."""
    subtotal = sum(line_amounts)
    exclusive = sum(tax.amount for tax in taxes if not tax.inclusive)
    inclusive = sum(tax.amount for tax in taxes if tax.inclusive)
    excluding_tax = subtotal - discount - inclusive
    total = subtotal - discount + exclusive
    return Totals(
        subtotal=subtotal,
        discount=discount,
        taxes=tuple(taxes),
        total_excluding_tax=excluding_tax,
        total=total,
        amount_due=max(total, 0),
    )


def balance_applied(starting_balance: int, amount_due: int) -> int:
    """What a customer's balance does to an invoice's ``amount_due`` (Stripe's arithmetic): a
    credit (a negative balance) pays what it can of it, a debt (positive) is added to it whole.
    The result is taken off what is due (negative for a debt) and added to the balance."""
    return min(-starting_balance, amount_due) if starting_balance < 0 else -starting_balance


# ---- timers ------------------------------------------------------------------------------------


def finalizes_at(created_at: datetime) -> datetime:
    """When an auto-advancing draft is finalized: about an hour after its creation."""
    return created_at + timedelta(seconds=AUTO_ADVANCE_AFTER_S)


def due_date_after(created_at: datetime, days_until_due: int) -> datetime:
    """Stripe's ``days_until_due``: the number of days from the invoice's creation."""
    return created_at + timedelta(days=days_until_due)


def is_overdue(status: Status, due_date: datetime | None, now: datetime) -> bool:
    return status is Status.open and due_date is not None and due_date <= now
