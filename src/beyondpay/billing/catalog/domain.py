"""The catalog's rules: billing intervals, HSN/SAC codes, tax behaviour, discounts and when a
coupon or promotion code may be redeemed. Pure: no I/O, no clock (callers pass the time).

Where Stripe has the rule it is Stripe's (its API reference of prices, coupons and promotion
codes); the HSN/SAC rules are India's GST invoicing rules. tests/billing/catalog/test_domain.py
checks each, the discount arithmetic with hypothesis.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Final

# ---- prices ------------------------------------------------------------------------------------


class Interval(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    year = "year"


# Stripe's limit: a recurring price bills at least once a year (365 days, 52 weeks, 12 months).
INTERVAL_COUNT_MAX: Final[Mapping[Interval, int]] = {
    Interval.day: 365,
    Interval.week: 52,
    Interval.month: 12,
    Interval.year: 1,
}
# Stripe's limit on a price's default trial (two years).
TRIAL_PERIOD_DAYS_MAX: Final = 730


class PriceType(StrEnum):
    one_time = "one_time"
    recurring = "recurring"


class UsageType(StrEnum):
    licensed = "licensed"
    metered = "metered"  # named so it can be refused clearly: usage records may wait


class TaxBehavior(StrEnum):
    inclusive = "inclusive"
    exclusive = "exclusive"
    unspecified = "unspecified"


class BillingScheme(StrEnum):
    per_unit = "per_unit"
    tiered = "tiered"  # named so it can be refused clearly: tiers may wait


def interval_problem(interval: Interval, interval_count: int) -> str | None:
    """Why a price cannot bill every ``interval_count`` ``interval``s, or None."""
    most = INTERVAL_COUNT_MAX[interval]
    if not 1 <= interval_count <= most:
        return (
            f"it must be from 1 to {most} for interval={interval.value}: a recurring price bills"
            " at least once a year (1 year, 12 months, 52 weeks or 365 days)"
        )
    return None


def tax_behavior_change_problem(current: TaxBehavior, wanted: TaxBehavior) -> str | None:
    """Stripe's rule: a price's tax behaviour is set once; unspecified may become inclusive or
    exclusive, and then it never changes again (an issued invoice's tax depends on it)."""
    if current is wanted or current is TaxBehavior.unspecified:
        return None
    return (
        f"this price's tax_behavior is {current.value}: once inclusive or exclusive, it cannot"
        " change (create a new price instead)"
    )


# ---- products: HSN and SAC ---------------------------------------------------------------------


class ProductType(StrEnum):
    good = "good"
    service = "service"


# An HSN code is a 2-digit chapter, a 4-digit heading, a 6-digit subheading or an 8-digit tariff
# item; GST invoices print 4 digits (turnover up to ₹5 crore) or 6 (above), 8 for exports. A
# 2-digit chapter names too little to invoice by, and odd lengths name no level at all.
HSN_SAC_LENGTHS: Final = (4, 6, 8)
# Services are classified in chapter 99 (the Services Accounting Codes); goods in chapters
# 01 to 98.
SAC_CHAPTER: Final = "99"


def hsn_sac_problem(code: str) -> str | None:
    """Why ``code`` is not an HSN (goods) or SAC (services) code an invoice can print, or None."""
    if not code.isascii() or not code.isdigit():
        return "it must be digits only: an HSN code (goods) or a SAC code (services, 99…)"
    if len(code) not in HSN_SAC_LENGTHS:
        return "it must be 4, 6 or 8 digits long (a heading, a subheading or a tariff item)"
    if code.startswith("00"):
        return "no HSN chapter is 00"
    return None


def type_of_hsn_sac(code: str) -> ProductType:
    """A SAC code (chapter 99) names a service, an HSN code a good."""
    return ProductType.service if code.startswith(SAC_CHAPTER) else ProductType.good


# ---- coupons and discounts ---------------------------------------------------------------------


class Duration(StrEnum):
    once = "once"
    repeating = "repeating"
    forever = "forever"


# percent_off has at most two decimals (Stripe's precision): 12.5 % is 1,250 basis points.
PERCENT_OFF_DECIMALS_MAX: Final = 2
BASIS_POINTS_PER_PERCENT: Final = 100
BASIS_POINTS_MAX: Final = 100 * BASIS_POINTS_PER_PERCENT  # 100 %
# Ours: a repeating coupon lasts at most ten years of months (Stripe names no limit).
DURATION_IN_MONTHS_MAX: Final = 120


def percent_off_basis_points(percent: Decimal) -> int:
    """``percent`` (0 < p ≤ 100, at most two decimals) in basis points; ValueError saying why
    not. Stored as an integer so no float ever takes part in a discount."""
    if not percent.is_finite() or not 0 < percent <= 100:
        raise ValueError("it must be more than 0 and at most 100")
    basis_points = percent * BASIS_POINTS_PER_PERCENT
    if basis_points != basis_points.to_integral_value():
        raise ValueError(f"it can have at most {PERCENT_OFF_DECIMALS_MAX} decimal places")
    return int(basis_points)


def percent_from_basis_points(basis_points: int) -> float:
    """What the API shows: 1250 → 12.5 (exact: at most two decimals below 100)."""
    return float(Decimal(basis_points) / BASIS_POINTS_PER_PERCENT)


@dataclass(frozen=True, slots=True)
class CouponTerms:
    """What a coupon takes off, whatever it is stored in: ``percent_off`` in basis points, or
    ``amount_off`` in ``currency`` (with more currencies in ``currency_options``)."""

    coupon_id: str
    duration: Duration
    duration_in_months: int | None = None
    percent_off_basis_points: int | None = None
    amount_off: int | None = None
    currency: str | None = None
    currency_options: Mapping[str, int] = field(default_factory=dict)
    applies_to_products: frozenset[str] | None = None

    def __post_init__(self) -> None:
        if (self.percent_off_basis_points is None) == (self.amount_off is None):
            raise ValueError("a coupon takes off a percentage or an amount, not both or neither")
        if self.amount_off is not None and self.currency is None:
            raise ValueError("an amount off has a currency")


def amount_off_in(terms: CouponTerms, currency: str) -> int | None:
    """The amount an ``amount_off`` coupon takes off in ``currency``, None where it has none."""
    if terms.amount_off is None:
        return None
    if currency == terms.currency:
        return terms.amount_off
    return terms.currency_options.get(currency)


def applies_in(terms: CouponTerms, currency: str) -> bool:
    """A percentage applies in any currency; an amount only where the coupon names one."""
    return terms.percent_off_basis_points is not None or amount_off_in(terms, currency) is not None


def applies_to_product(terms: CouponTerms, product_id: str | None) -> bool:
    """Stripe's ``applies_to[products]``: a coupon limited to products discounts only their
    lines; one without the limit discounts every line."""
    if terms.applies_to_products is None:
        return True
    return product_id is not None and product_id in terms.applies_to_products


def discount_amount(amount_minor: int, currency: str, terms: CouponTerms) -> int:
    """What ``terms`` take off ``amount_minor`` (in ``currency``'s minor units), never more than
    the amount. A percentage is rounded to the nearest minor unit, a half up: Stripe rounds "to
    the nearest unit" and documents 0.025 → 0.03 (support.stripe.com, "What rules do you use for
    rounding"). An amount off in a currency the coupon does not name is a caller's bug: check
    :func:`applies_in` first."""
    if amount_minor < 0:
        raise ValueError("a discount applies to an amount of zero or more")
    if terms.percent_off_basis_points is not None:
        # Half up on integers: floor((amount * bp + half of 10,000) / 10,000).
        off = (amount_minor * terms.percent_off_basis_points + BASIS_POINTS_MAX // 2) // (
            BASIS_POINTS_MAX
        )
        return min(off, amount_minor)
    amount_off = amount_off_in(terms, currency)
    if amount_off is None:
        raise ValueError(f"the coupon takes no amount off in {currency}")
    return min(amount_off, amount_minor)


class CouponProblem(StrEnum):
    deleted = "deleted"
    past_redeem_by = "past_redeem_by"
    fully_redeemed = "fully_redeemed"


@dataclass(frozen=True, slots=True)
class Redeemable:
    """What decides whether a coupon or a promotion code may still be redeemed."""

    times_redeemed: int
    max_redemptions: int | None = None
    ends_at: datetime | None = None  # a coupon's redeem_by, a promotion code's expires_at


def coupon_problem(state: Redeemable, *, deleted: bool, at: datetime) -> CouponProblem | None:
    """Why the coupon cannot be redeemed at ``at`` (Stripe's ``valid`` is its absence)."""
    if deleted:
        return CouponProblem.deleted
    if state.ends_at is not None and at >= state.ends_at:
        return CouponProblem.past_redeem_by
    if state.max_redemptions is not None and state.times_redeemed >= state.max_redemptions:
        return CouponProblem.fully_redeemed
    return None


class PromotionCodeProblem(StrEnum):
    inactive = "inactive"
    expired = "expired"
    fully_redeemed = "fully_redeemed"
    other_customer = "other_customer"
    not_first_transaction = "not_first_transaction"
    below_minimum_amount = "below_minimum_amount"


@dataclass(frozen=True, slots=True)
class Restrictions:
    first_time_transaction: bool = False
    minimum_amount: int | None = None
    minimum_amount_currency: str | None = None
    # Stripe's restrictions[currency_options][<currency>][minimum_amount]: other currencies.
    currency_options: Mapping[str, int] = field(default_factory=dict)

    def minimum_in(self, currency: str) -> int | None:
        if currency == self.minimum_amount_currency:
            return self.minimum_amount
        return self.currency_options.get(currency)


@dataclass(frozen=True, slots=True)
class Purchase:
    """Who redeems a promotion code, for how much (None: the amount is not known yet and the
    minimum is not checked), and whether it is the customer's first transaction (no successful
    payment or paid invoice yet: the caller knows that history, the catalog does not)."""

    customer_id: str | None
    amount_minor: int | None
    currency: str | None
    first_transaction: bool


def promotion_code_problem(
    state: Redeemable,
    *,
    active: bool,
    customer_id: str | None,
    restrictions: Restrictions,
    purchase: Purchase,
    at: datetime,
) -> PromotionCodeProblem | None:
    """Why the promotion code cannot be redeemed by ``purchase`` at ``at``, or None. The
    coupon's own validity is :func:`coupon_problem`'s."""
    if not active:
        return PromotionCodeProblem.inactive
    if state.ends_at is not None and at >= state.ends_at:
        return PromotionCodeProblem.expired
    if state.max_redemptions is not None and state.times_redeemed >= state.max_redemptions:
        return PromotionCodeProblem.fully_redeemed
    if customer_id is not None and purchase.customer_id != customer_id:
        return PromotionCodeProblem.other_customer
    if restrictions.first_time_transaction and not purchase.first_transaction:
        return PromotionCodeProblem.not_first_transaction
    if (
        restrictions.minimum_amount is not None
        and purchase.currency is not None
        and purchase.amount_minor is not None
    ):
        # A minimum in no currency of the purchase cannot be met: refused, not waived.
        minimum = restrictions.minimum_in(purchase.currency)
        if minimum is None or purchase.amount_minor < minimum:
            return PromotionCodeProblem.below_minimum_amount
    return None
