from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beyondpay.kit.money import (
    ALLOCATE_RATIOS_MAX,
    AMOUNT_MINOR_MAX,
    CURRENCY_EXPONENTS,
    INT64_MAX,
    CurrencyMismatchError,
    Money,
    UnknownCurrencyError,
    currency_exponent,
    normalize_currency,
)

amounts = st.integers(min_value=-INT64_MAX, max_value=INT64_MAX)
currencies = st.sampled_from(sorted(CURRENCY_EXPONENTS))
ratio_lists = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=50).filter(
    lambda ratios: sum(ratios) > 0
)


def inr(amount_minor: int) -> Money:
    return Money(amount_minor, "inr")


def test_limits_are_named() -> None:
    assert AMOUNT_MINOR_MAX == 10**14 - 1
    assert INT64_MAX == 2**63 - 1


@pytest.mark.parametrize(
    ("code", "exponent"),
    [("INR", 2), ("usd", 2), ("JPY", 0), ("kwd", 3), ("BHD", 3), ("omr", 3), ("EUR", 2)],
)
def test_currency_exponent_accepts_either_case(code: str, exponent: int) -> None:
    assert currency_exponent(code) == exponent
    assert normalize_currency(code) == code.lower()


@pytest.mark.parametrize("code", ["", "xyz", "inr ", "rupee", "\u212awd"])
def test_unknown_currency_is_rejected(code: str) -> None:
    # "\u212a" is the Kelvin sign, which str.lower() turns into an ASCII "k".
    with pytest.raises(UnknownCurrencyError):
        normalize_currency(code)
    with pytest.raises(ValueError):
        Money(1, code)


def test_money_stores_lowercase_currency() -> None:
    assert Money(1, "INR") == Money(1, "inr")
    assert Money(1, "INR").currency == "inr"


@pytest.mark.parametrize("amount", [True, 1.0, Decimal(1), "1", None])
def test_amount_must_be_a_plain_int(amount: Any) -> None:
    with pytest.raises(TypeError):
        Money(amount, "inr")


def test_arithmetic_in_one_currency() -> None:
    assert inr(150) + inr(50) == inr(200)
    assert inr(150) - inr(200) == inr(-50)
    assert -inr(5) == inr(-5)
    assert abs(inr(-5)) == inr(5)
    assert inr(7) * 3 == inr(21)
    assert 3 * inr(7) == inr(21)
    assert inr(1) < inr(2) <= inr(2) < inr(3)
    assert inr(3) > inr(2) >= inr(2)
    assert Money.total([inr(1), inr(2), inr(3)], "inr") == inr(6)
    assert Money.total([], "INR") == Money.zero("inr")


def test_predicates() -> None:
    assert inr(0).is_zero()
    assert inr(1).is_positive()
    assert not inr(0).is_positive()
    assert inr(-1).is_negative()


def test_currency_mismatch_raises() -> None:
    usd = Money(1, "usd")
    with pytest.raises(CurrencyMismatchError):
        inr(1) + usd
    with pytest.raises(CurrencyMismatchError):
        inr(1) - usd
    with pytest.raises(CurrencyMismatchError):
        _ = inr(1) < usd
    with pytest.raises(CurrencyMismatchError):
        _ = inr(1) >= usd
    with pytest.raises(CurrencyMismatchError):
        Money.total([inr(1), usd], "inr")
    # Equality does not raise: amounts in different currencies are simply not equal.
    assert inr(1) != usd


@pytest.mark.parametrize("factor", [1.5, True, Decimal(2)])
def test_multiplication_is_by_int_only(factor: Any) -> None:
    with pytest.raises(TypeError):
        inr(10) * factor


def test_money_is_immutable() -> None:
    money: Any = inr(1)  # Any: the type checker would (rightly) refuse the assignment
    with pytest.raises(AttributeError):
        money.amount_minor = 2


@given(amount=amounts, ratios=ratio_lists)
def test_allocation_is_exact_and_fair(amount: int, ratios: list[int]) -> None:
    money = inr(amount)
    shares = money.allocate(ratios)
    assert len(shares) == len(ratios)
    assert Money.total(shares, "inr") == money
    for share, ratio in zip(shares, ratios, strict=True):
        exact = Fraction(amount * ratio, sum(ratios))
        assert abs(share.amount_minor - exact) < 1
        if ratio == 0:
            assert share.is_zero()


@given(amount=amounts, ratios=ratio_lists)
def test_allocation_of_a_negative_amount_mirrors_the_positive(
    amount: int, ratios: list[int]
) -> None:
    assert inr(-amount).allocate(ratios) == [-share for share in inr(amount).allocate(ratios)]


@given(amount=amounts, parts=st.integers(min_value=1, max_value=200))
def test_split_shares_differ_by_at_most_one(amount: int, parts: int) -> None:
    shares = [share.amount_minor for share in inr(amount).split(parts)]
    assert sum(shares) == amount
    assert max(shares) - min(shares) <= 1


def test_allocation_ties_go_to_the_earlier_index() -> None:
    assert inr(100).split(3) == [inr(34), inr(33), inr(33)]
    assert inr(-100).split(3) == [inr(-34), inr(-33), inr(-33)]
    assert inr(5).allocate([1, 1, 0, 1, 1]) == [inr(2), inr(1), inr(0), inr(1), inr(1)]
    assert inr(1).allocate([0, 1, 1]) == [inr(0), inr(1), inr(0)]


@pytest.mark.parametrize(
    "ratios", [[], [0, 0], [1, -1], [1, True], [1.5], [1] * (ALLOCATE_RATIOS_MAX + 1)]
)
def test_bad_ratios_are_rejected(ratios: list[int]) -> None:
    with pytest.raises(ValueError):
        inr(100).allocate(ratios)


@pytest.mark.parametrize("parts", [0, -1])
def test_split_needs_a_positive_part_count(parts: int) -> None:
    with pytest.raises(ValueError):
        inr(100).split(parts)


@given(amount=amounts, currency=currencies)
def test_major_string_roundtrip(amount: int, currency: str) -> None:
    money = Money(amount, currency)
    text = money.to_major_string()
    assert Money.from_major(text, currency) == money
    assert Money.from_major(Decimal(text), currency.upper()) == money


@pytest.mark.parametrize(
    ("major", "currency", "amount_minor"),
    [
        ("1499.50", "inr", 149950),
        ("1499.5", "inr", 149950),
        ("-0.05", "INR", -5),
        ("0", "inr", 0),
        ("1235", "jpy", 1235),
        ("1.234", "kwd", 1234),
        ("1.500", "usd", 150),  # trailing zeros keep the value exact
        (Decimal("12.34"), "usd", 1234),
        (Decimal("1E+3"), "jpy", 1000),
    ],
)
def test_from_major(major: str | Decimal, currency: str, amount_minor: int) -> None:
    assert Money.from_major(major, currency) == Money(amount_minor, currency)


@pytest.mark.parametrize(
    ("major", "currency"),
    [
        ("1.505", "usd"),
        ("0.5", "jpy"),
        ("1.2345", "kwd"),
        (Decimal("0.001"), "inr"),
        ("1e3", "inr"),
        (" 1", "inr"),
        ("1_000", "inr"),
        ("+1", "inr"),
        ("1.", "inr"),
        (".5", "inr"),
        ("", "inr"),
        ("١٢", "inr"),  # Arabic-Indic digits
        ("9" * 41, "inr"),
        ("99999999999999999999", "inr"),
        (Decimal("NaN"), "inr"),
        (Decimal("Infinity"), "inr"),
        (Decimal("1E+999999999"), "inr"),
    ],
)
def test_from_major_rejects_inexact_or_malformed(major: str | Decimal, currency: str) -> None:
    with pytest.raises(ValueError):
        Money.from_major(major, currency)


def test_from_major_rejects_floats() -> None:
    float_amount: Any = 1.5
    with pytest.raises(TypeError):
        Money.from_major(float_amount, "inr")


@pytest.mark.parametrize(
    ("amount_minor", "text"),
    [
        (5, "₹0.05"),
        (100, "₹1.00"),
        (99_900, "₹999.00"),
        (100_000, "₹1,000.00"),
        (10_000_000, "₹1,00,000.00"),
        (14_995_000, "₹1,49,950.00"),
        (123_456_789_00, "₹12,34,56,789.00"),
        (-14_995_000, "-₹1,49,950.00"),
        (-5, "-₹0.05"),
    ],
)
def test_inr_uses_indian_grouping(amount_minor: int, text: str) -> None:
    assert inr(amount_minor).format() == text
    assert str(inr(amount_minor)) == text


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(123_456, "usd"), "$1,234.56"),
        (Money(-123_456, "usd"), "-$1,234.56"),
        (Money(100_000_000, "eur"), "€1,000,000.00"),
        (Money(99, "gbp"), "£0.99"),
        (Money(1235, "jpy"), "¥1,235"),
        (Money(1_234_567, "kwd"), "KWD 1,234.567"),
        (Money(-1_234_567, "kwd"), "-KWD 1,234.567"),
        (Money(100, "sgd"), "SGD 1.00"),
    ],
)
def test_other_currencies_use_western_grouping(money: Money, text: str) -> None:
    assert money.format() == text


@pytest.mark.parametrize(
    ("money", "figure", "symbol"),
    [
        (inr(14_995_000), "1,49,950.00", "₹"),
        (inr(-5), "-0.05", "₹"),
        (Money(123_456, "usd"), "1,234.56", "$"),
        (Money(1_234_567, "kwd"), "1,234.567", "KWD"),
    ],
)
def test_the_figure_alone_keeps_the_grouping(money: Money, figure: str, symbol: str) -> None:
    assert money.format(symbol=False) == figure
    assert money.currency_symbol() == symbol


@pytest.mark.parametrize(
    ("money", "text"),
    [(inr(149_950), "1499.50"), (inr(-5), "-0.05"), (Money(1235, "jpy"), "1235")],
)
def test_to_major_string(money: Money, text: str) -> None:
    assert money.to_major_string() == text
