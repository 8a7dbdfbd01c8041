"""The catalog's pure rules: billing intervals, HSN/SAC codes, tax behaviour, percentages in
basis points, the discount arithmetic (exhaustively with hypothesis) and when a coupon or a
promotion code may be redeemed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beyondpay.billing.catalog.domain import (
    BASIS_POINTS_MAX,
    INTERVAL_COUNT_MAX,
    CouponProblem,
    CouponTerms,
    Duration,
    Interval,
    ProductType,
    PromotionCodeProblem,
    Purchase,
    Redeemable,
    Restrictions,
    TaxBehavior,
    amount_off_in,
    applies_in,
    applies_to_product,
    coupon_problem,
    discount_amount,
    hsn_sac_problem,
    interval_problem,
    percent_from_basis_points,
    percent_off_basis_points,
    promotion_code_problem,
    tax_behavior_change_problem,
    type_of_hsn_sac,
)
from beyondpay.kit.money import AMOUNT_MINOR_MAX

NOW = datetime(2026, 12, 1, tzinfo=UTC)
AMOUNTS = st.integers(min_value=0, max_value=AMOUNT_MINOR_MAX)
BASIS_POINTS = st.integers(min_value=1, max_value=BASIS_POINTS_MAX)


@pytest.mark.parametrize(
    ("interval", "most"), [("day", 365), ("week", 52), ("month", 12), ("year", 1)]
)
def test_a_recurring_price_bills_at_least_once_a_year(interval: str, most: int) -> None:
    assert INTERVAL_COUNT_MAX[Interval(interval)] == most
    for count in (1, most):
        assert interval_problem(Interval(interval), count) is None
    for count in (0, most + 1):
        problem = interval_problem(Interval(interval), count)
        assert problem is not None and f"from 1 to {most}" in problem


@pytest.mark.parametrize("code", ["9983", "998314", "99831400", "1006", "100630", "10063010"])
def test_hsn_and_sac_codes_of_4_6_or_8_digits_are_accepted(code: str) -> None:
    assert hsn_sac_problem(code) is None


@pytest.mark.parametrize(
    "code",
    [
        "99",
        "998",
        "99831",
        "9983141",
        "998314000",
        "99-831",
        "\uff19\uff19\uff18\uff13",
        "abcd",
        "0012",
    ],
)
def test_other_codes_are_refused_saying_why(code: str) -> None:
    assert hsn_sac_problem(code) is not None


def test_a_sac_code_names_a_service_and_an_hsn_code_a_good() -> None:
    assert type_of_hsn_sac("998314") is ProductType.service
    assert type_of_hsn_sac("1006") is ProductType.good


def test_tax_behavior_is_set_once() -> None:
    unspecified, inclusive, exclusive = (
        TaxBehavior.unspecified,
        TaxBehavior.inclusive,
        TaxBehavior.exclusive,
    )
    for wanted in TaxBehavior:
        assert tax_behavior_change_problem(unspecified, wanted) is None
    for current in (inclusive, exclusive):
        assert tax_behavior_change_problem(current, current) is None
        for wanted in TaxBehavior:
            if wanted is not current:
                assert tax_behavior_change_problem(current, wanted) is not None


@pytest.mark.parametrize(
    ("text", "basis_points"),
    [("0.01", 1), ("12.5", 1_250), ("12.50", 1_250), ("33.33", 3_333), ("100", 10_000)],
)
def test_percentages_become_basis_points(text: str, basis_points: int) -> None:
    assert percent_off_basis_points(Decimal(text)) == basis_points
    assert percent_from_basis_points(basis_points) == float(text)


@pytest.mark.parametrize("text", ["0", "-5", "100.01", "12.345", "0.001", "NaN", "Infinity"])
def test_other_percentages_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        percent_off_basis_points(Decimal(text))


def _percent(basis_points: int) -> CouponTerms:
    return CouponTerms("C", Duration.once, percent_off_basis_points=basis_points)


def _amount(amount_off: int, **options: int) -> CouponTerms:
    return CouponTerms(
        "C", Duration.once, amount_off=amount_off, currency="inr", currency_options=options
    )


@given(amount=AMOUNTS, basis_points=BASIS_POINTS)
def test_a_percentage_is_rounded_half_up_and_never_more_than_the_amount(
    amount: int, basis_points: int
) -> None:
    off = discount_amount(amount, "inr", _percent(basis_points))
    exact = Fraction(amount * basis_points, BASIS_POINTS_MAX)
    assert 0 <= off <= amount
    # The nearest minor unit, a half going up: within half a unit, and a tie rounds up.
    assert abs(off - exact) <= Fraction(1, 2)
    if exact - int(exact) == Fraction(1, 2):
        assert off == int(exact) + 1


def test_rounding_examples() -> None:
    assert discount_amount(1, "inr", _percent(5_000)) == 1  # 0.5 paise rounds up
    assert discount_amount(3, "inr", _percent(1_000)) == 0  # 0.3 rounds down
    assert discount_amount(49_900, "inr", _percent(1_250)) == 6_238  # 6,237.5 → 6,238
    assert discount_amount(99_999, "inr", _percent(3_333)) == 33_330  # 33,329.67
    assert discount_amount(49_900, "inr", _percent(10_000)) == 49_900


@given(amount=AMOUNTS, amount_off=st.integers(min_value=1, max_value=AMOUNT_MINOR_MAX))
def test_an_amount_off_is_at_most_the_amount(amount: int, amount_off: int) -> None:
    assert discount_amount(amount, "inr", _amount(amount_off)) == min(amount, amount_off)


def test_an_amount_off_applies_only_in_its_currencies() -> None:
    terms = _amount(500, usd=7)
    assert amount_off_in(terms, "inr") == 500
    assert amount_off_in(terms, "usd") == 7
    assert amount_off_in(terms, "eur") is None
    assert applies_in(terms, "usd") and not applies_in(terms, "eur")
    assert applies_in(_percent(100), "eur")
    assert discount_amount(1_000, "usd", terms) == 7
    with pytest.raises(ValueError, match="no amount off in eur"):
        discount_amount(1_000, "eur", terms)
    with pytest.raises(ValueError, match="zero or more"):
        discount_amount(-1, "inr", terms)


def test_coupon_terms_take_a_percentage_or_an_amount() -> None:
    with pytest.raises(ValueError, match="not both or neither"):
        CouponTerms("C", Duration.once)
    with pytest.raises(ValueError, match="not both or neither"):
        CouponTerms("C", Duration.once, percent_off_basis_points=1, amount_off=1, currency="inr")
    with pytest.raises(ValueError, match="has a currency"):
        CouponTerms("C", Duration.once, amount_off=1)


def test_applies_to_products() -> None:
    anything = _percent(100)
    limited = CouponTerms(
        "C", Duration.once, percent_off_basis_points=100, applies_to_products=frozenset({"p"})
    )
    assert applies_to_product(anything, None) and applies_to_product(anything, "q")
    assert applies_to_product(limited, "p")
    assert not applies_to_product(limited, "q") and not applies_to_product(limited, None)


def test_coupon_problems() -> None:
    later = NOW + timedelta(days=1)
    fresh = Redeemable(times_redeemed=0, max_redemptions=2, ends_at=later)
    assert coupon_problem(fresh, deleted=False, at=NOW) is None
    assert coupon_problem(fresh, deleted=True, at=NOW) is CouponProblem.deleted
    assert coupon_problem(fresh, deleted=False, at=later) is CouponProblem.past_redeem_by
    used = Redeemable(times_redeemed=2, max_redemptions=2)
    assert coupon_problem(used, deleted=False, at=NOW) is CouponProblem.fully_redeemed
    assert coupon_problem(Redeemable(times_redeemed=10**6), deleted=False, at=NOW) is None


def _code_problem(
    *,
    active: bool = True,
    state: Redeemable | None = None,
    customer_id: str | None = None,
    restrictions: Restrictions | None = None,
    purchase: Purchase | None = None,
) -> PromotionCodeProblem | None:
    return promotion_code_problem(
        state or Redeemable(times_redeemed=0),
        active=active,
        customer_id=customer_id,
        restrictions=restrictions or Restrictions(),
        purchase=purchase or Purchase("cus_1", 10_000, "inr", first_transaction=False),
        at=NOW,
    )


def test_promotion_code_problems() -> None:
    P = PromotionCodeProblem
    assert _code_problem() is None
    assert _code_problem(active=False) is P.inactive
    assert _code_problem(state=Redeemable(0, ends_at=NOW)) is P.expired
    assert _code_problem(state=Redeemable(1, max_redemptions=1)) is P.fully_redeemed
    assert _code_problem(customer_id="cus_2") is P.other_customer
    assert _code_problem(customer_id="cus_1") is None
    first_only = Restrictions(first_time_transaction=True)
    assert _code_problem(restrictions=first_only) is P.not_first_transaction
    first = Purchase("cus_1", 10_000, "inr", first_transaction=True)
    assert _code_problem(restrictions=first_only, purchase=first) is None


def test_a_minimum_amount_in_the_purchase_currency_or_refused() -> None:
    P = PromotionCodeProblem
    minimum = Restrictions(
        minimum_amount=10_000, minimum_amount_currency="inr", currency_options={"usd": 200}
    )

    def bought(amount: int | None, currency: str | None) -> Purchase:
        return Purchase("cus_1", amount, currency, first_transaction=False)

    assert _code_problem(restrictions=minimum, purchase=bought(10_000, "inr")) is None
    assert _code_problem(restrictions=minimum, purchase=bought(9_999, "inr")) is (
        P.below_minimum_amount
    )
    assert _code_problem(restrictions=minimum, purchase=bought(200, "usd")) is None
    assert _code_problem(restrictions=minimum, purchase=bought(199, "usd")) is (
        P.below_minimum_amount
    )
    # A minimum named in no currency of the purchase cannot be met.
    assert _code_problem(restrictions=minimum, purchase=bought(10**9, "eur")) is (
        P.below_minimum_amount
    )
    # No amount yet: not checked (the caller checks it once the amount is known).
    assert _code_problem(restrictions=minimum, purchase=bought(None, None)) is None
