"""Money as an integer count of minor units in an ISO 4217 currency.

Floats never appear: amounts are ``int`` and major-unit input is parsed exactly from ``str`` or
``Decimal``. Currency codes are lowercase in the API, as in Stripe; either case is accepted and
lowercase is stored.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Final, Self

from beyondpay.kit.invariants import unreachable

__all__ = [
    "ALLOCATE_RATIOS_MAX",
    "AMOUNT_MINOR_MAX",
    "CURRENCY_EXPONENTS",
    "INT64_MAX",
    "CurrencyMismatchError",
    "Money",
    "UnknownCurrencyError",
    "currency_exponent",
    "normalize_currency",
]

# The largest amount, in minor units, that the API accepts for a single object (10^14 - 1):
# checked at the edge, so totals built from many such amounts still fit the ledger's int64.
AMOUNT_MINOR_MAX: Final = 99_999_999_999_999
# The ledger stores balances and amounts as PostgreSQL bigint.
INT64_MAX: Final = 2**63 - 1
# A split into more parts than this is a bug in the caller, not a real payment.
ALLOCATE_RATIOS_MAX: Final = 10_000
# Longest major-unit string parsed: enough for any int64 amount with its decimals.
_MAJOR_CHARS_MAX: Final = 40
# Longest input echoed back in an error message, so a huge value cannot bloat logs or responses.
_ECHO_CHARS_MAX: Final = 32

# ISO 4217 minor-unit exponents. Lowercase keys: the API spells currencies as Stripe does.
CURRENCY_EXPONENTS: Final[Mapping[str, int]] = MappingProxyType(
    {
        # exponent 2
        "aed": 2, "aud": 2, "bdt": 2, "brl": 2, "cad": 2, "chf": 2, "cny": 2, "czk": 2,
        "dkk": 2, "egp": 2, "eur": 2, "gbp": 2, "hkd": 2, "huf": 2, "idr": 2, "ils": 2,
        "inr": 2, "lkr": 2, "mxn": 2, "myr": 2, "ngn": 2, "nok": 2, "npr": 2, "nzd": 2,
        "php": 2, "pkr": 2, "pln": 2, "qar": 2, "ron": 2, "sar": 2, "sek": 2, "sgd": 2,
        "thb": 2, "try": 2, "twd": 2, "usd": 2, "zar": 2,
        # exponent 0
        "clp": 0, "isk": 0, "jpy": 0, "krw": 0, "ugx": 0, "vnd": 0, "xaf": 0, "xof": 0,
        # exponent 3
        "bhd": 3, "iqd": 3, "jod": 3, "kwd": 3, "lyd": 3, "omr": 3, "tnd": 3,
    }
)  # fmt: skip

# Symbols as the CLDR "en" locale prints them; other currencies print their upper-case code.
_SYMBOLS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "aud": "A$", "brl": "R$", "cad": "CA$", "cny": "CN¥", "eur": "€", "gbp": "£",
        "hkd": "HK$", "ils": "₪", "inr": "₹", "jpy": "¥", "krw": "₩", "mxn": "MX$",
        "nzd": "NZ$", "php": "₱", "twd": "NT$", "usd": "$", "vnd": "₫",
    }
)  # fmt: skip

# ASCII digits only: `\d` would also accept other scripts' digits.
_MAJOR_PATTERN: Final = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


class UnknownCurrencyError(ValueError):
    """The code is not an ISO 4217 currency this platform handles."""


class CurrencyMismatchError(ValueError):
    """Two amounts in different currencies were combined or compared."""


def _echo(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _ECHO_CHARS_MAX else text[:_ECHO_CHARS_MAX] + "..."


def accepted_currencies_message() -> str:
    """What a request with a currency this platform does not handle is told."""
    return "it must be a three-letter ISO 4217 code with no spaces, one of " + ", ".join(
        sorted(CURRENCY_EXPONENTS)
    )


def normalize_currency(code: str) -> str:
    """Return the lowercase ISO 4217 code, or raise ``UnknownCurrencyError``."""
    # isascii() first: str.lower() maps some non-ASCII letters (the Kelvin sign) onto ASCII ones.
    if not isinstance(code, str) or not code.isascii():
        raise UnknownCurrencyError(f"Unknown currency: {_echo(code)}")
    lowered = code.lower()
    if lowered not in CURRENCY_EXPONENTS:
        raise UnknownCurrencyError(f"Unknown currency: {_echo(code)}")
    return lowered


def currency_exponent(code: str) -> int:
    """Number of decimal places of the currency's minor unit (2 for INR, 0 for JPY)."""
    return CURRENCY_EXPONENTS[normalize_currency(code)]


def _group(digits: str, *, indian: bool) -> str:
    """Insert thousands separators: 1,234,567 or, in the Indian system, 12,34,567."""
    if len(digits) <= 3:
        return digits
    head, tail = digits[:-3], digits[-3:]
    size = 2 if indian else 3
    groups: list[str] = []
    while head:
        groups.append(head[-size:])
        head = head[:-size]
    return ",".join([*reversed(groups), tail])


def _decimal_to_minor(major: Decimal, exponent: int) -> int:
    if not major.is_finite():
        raise ValueError(f"Amount must be a finite number: {_echo(major)}")
    sign, digits, decimal_exponent = major.as_tuple()
    if not isinstance(decimal_exponent, int):
        unreachable("a finite Decimal has an integer exponent")
    coefficient = int("".join(map(str, digits)))
    shift = decimal_exponent + exponent
    # Refuse before computing 10**shift, so "1E+999999999" cannot make us build a huge int.
    if coefficient and len(digits) + shift > len(str(INT64_MAX)):
        raise ValueError(f"Amount is too large: {_echo(major)}")
    minor: int
    if shift >= 0:
        minor = coefficient * 10**shift
    else:
        minor, rest = divmod(coefficient, 10**-shift)
        if rest:
            raise ValueError(f"Amount has more decimal places than the currency allows: {exponent}")
    if minor > INT64_MAX:
        raise ValueError(f"Amount is too large: {_echo(major)}")
    return -minor if sign else minor


def _largest_remainder(total: int, ratios: Sequence[int]) -> list[int]:
    """Split a non-negative ``total`` by ``ratios``: floors first, then the leftover units go
    one each to the largest remainders, earlier index first on ties."""
    ratio_sum = sum(ratios)
    shares = [total * ratio // ratio_sum for ratio in ratios]
    remainders = [total * ratio % ratio_sum for ratio in ratios]
    leftover = total - sum(shares)
    # leftover < number of non-zero remainders, so a zero ratio (remainder 0) never gets a unit.
    order = sorted(range(len(ratios)), key=lambda index: (-remainders[index], index))
    for index in order[:leftover]:
        shares[index] += 1
    return shares


def _check_ratios(ratios: Sequence[int]) -> None:
    if not 0 < len(ratios) <= ALLOCATE_RATIOS_MAX:
        raise ValueError(f"Ratios must have between 1 and {ALLOCATE_RATIOS_MAX} entries")
    for ratio in ratios:
        if type(ratio) is not int or ratio < 0:
            raise ValueError("Ratios must be non-negative integers")
    if sum(ratios) == 0:
        raise ValueError("Ratios must not all be zero")


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount: ``amount_minor`` units of the currency's minor unit (paise for INR).

    Equality between different currencies is simply false; ordering and arithmetic between
    different currencies raise ``CurrencyMismatchError``.
    """

    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        # bool is an int subclass; True rupees is always a bug.
        if type(self.amount_minor) is not int:
            raise TypeError(f"amount_minor must be an int, not {type(self.amount_minor).__name__}")
        object.__setattr__(self, "currency", normalize_currency(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Self:
        return cls(0, currency)

    @classmethod
    def total(cls, items: Iterable["Money"], currency: str) -> Self:
        """Sum of ``items``, all in ``currency``; zero when empty."""
        result = cls.zero(currency)
        for item in items:
            result._check_same_currency(item)
            result = cls(result.amount_minor + item.amount_minor, result.currency)
        return result

    @classmethod
    def from_major(cls, major: str | Decimal, currency: str) -> Self:
        """Parse a major-unit amount exactly ("1499.50" INR is 149950 paise).

        A string must be plain digits with an optional leading "-" and decimal point. A value with
        non-zero digits beyond the currency's exponent raises ``ValueError``; trailing zeros are
        accepted because the value is still exact.
        """
        exponent = currency_exponent(currency)
        if isinstance(major, str):
            if len(major) > _MAJOR_CHARS_MAX or not _MAJOR_PATTERN.fullmatch(major):
                raise ValueError(f"Invalid amount: {_echo(major)}")
            major = Decimal(major)
        if not isinstance(major, Decimal):
            raise TypeError(f"Amount must be a str or Decimal, not {type(major).__name__}")
        return cls(_decimal_to_minor(major, exponent), currency)

    @property
    def exponent(self) -> int:
        return CURRENCY_EXPONENTS[self.currency]

    def _check_same_currency(self, other: "Money") -> None:
        if self.currency != other.currency:
            raise CurrencyMismatchError(f"Currency mismatch: {self.currency} and {other.currency}")

    def __add__(self, other: "Money") -> "Money":
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other)
        return Money(self.amount_minor + other.amount_minor, self.currency)

    def __sub__(self, other: "Money") -> "Money":
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other)
        return Money(self.amount_minor - other.amount_minor, self.currency)

    def __neg__(self) -> "Money":
        return Money(-self.amount_minor, self.currency)

    def __abs__(self) -> "Money":
        return Money(abs(self.amount_minor), self.currency)

    def __mul__(self, factor: int) -> "Money":
        # Only whole multiples: a fractional product needs a rounding rule, i.e. allocate().
        if type(factor) is not int:
            return NotImplemented
        return Money(self.amount_minor * factor, self.currency)

    def __rmul__(self, factor: int) -> "Money":
        return self.__mul__(factor)

    def __lt__(self, other: "Money") -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other)
        return self.amount_minor < other.amount_minor

    def __le__(self, other: "Money") -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other)
        return self.amount_minor <= other.amount_minor

    def __gt__(self, other: "Money") -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other)
        return self.amount_minor > other.amount_minor

    def __ge__(self, other: "Money") -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._check_same_currency(other)
        return self.amount_minor >= other.amount_minor

    def is_zero(self) -> bool:
        return self.amount_minor == 0

    def is_positive(self) -> bool:
        return self.amount_minor > 0

    def is_negative(self) -> bool:
        return self.amount_minor < 0

    def allocate(self, ratios: Sequence[int]) -> list["Money"]:
        """Split into shares proportional to ``ratios`` that sum exactly to ``self``.

        Largest remainder: every share is within one minor unit of its exact proportion, a zero
        ratio gets zero, ties go to the earlier index. A negative amount splits as the mirror
        image of the positive one.
        """
        _check_ratios(ratios)
        shares = _largest_remainder(abs(self.amount_minor), ratios)
        sign = -1 if self.amount_minor < 0 else 1
        return [Money(sign * share, self.currency) for share in shares]

    def split(self, parts: int) -> list["Money"]:
        """Split into ``parts`` near-equal shares that sum exactly; larger shares come first."""
        if type(parts) is not int or parts < 1:
            raise ValueError("parts must be a positive integer")
        return self.allocate([1] * parts)

    def to_major_string(self) -> str:
        """Plain major-unit text without grouping or symbol: "1499.50", "-0.05", "1235" (JPY)."""
        sign = "-" if self.amount_minor < 0 else ""
        whole, fraction = divmod(abs(self.amount_minor), 10**self.exponent)
        if self.exponent == 0:
            return f"{sign}{whole}"
        return f"{sign}{whole}.{fraction:0{self.exponent}d}"

    def format(self, *, symbol: bool = True) -> str:
        """Human text: "₹1,49,950.00" (Indian grouping), "$1,234.56", "KWD 1,234.567"; with
        ``symbol=False`` the grouped figure alone ("1,49,950.00"), as a table whose heading names
        the currency shows it."""
        sign = "-" if self.amount_minor < 0 else ""
        whole, fraction = divmod(abs(self.amount_minor), 10**self.exponent)
        number = _group(str(whole), indian=self.currency == "inr")
        if self.exponent:
            number = f"{number}.{fraction:0{self.exponent}d}"
        if not symbol:
            return f"{sign}{number}"
        known = _SYMBOLS.get(self.currency)
        prefix = known if known is not None else f"{self.currency.upper()} "
        return f"{sign}{prefix}{number}"

    def currency_symbol(self) -> str:
        """The currency's sign as ``format`` prints it: "₹", "$", or the upper-case code."""
        return _SYMBOLS.get(self.currency, self.currency.upper())

    def __str__(self) -> str:
        return self.format()
