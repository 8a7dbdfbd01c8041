"""Pure rules of payment methods: card numbers, expiry, CVC, VPAs, bank codes, test values.

Nothing here does I/O. Functions that look at a card number, a CVC or a VPA take it as a
``SecretStr`` and raise errors that name the parameter, never the value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from pydantic import SecretStr

from beyondpay.kit.cards import luhn_valid
from beyondpay.kit.upi import APP_VPA, vpa_problem
from beyondpay.payment_methods.errors import (
    BankInvalidError,
    IncorrectNumberError,
    InvalidCvcError,
    InvalidExpiryMonthError,
    InvalidExpiryYearError,
    InvalidNumberError,
    VpaInvalidError,
)

CARD_NUMBER_DIGITS_MIN: Final = 12
CARD_NUMBER_DIGITS_MAX: Final = 19
CARD_NUMBER_CHARS_MAX: Final = 64  # with the spaces or dashes people type
CVC_DIGITS_MIN: Final = 3
CVC_DIGITS_MAX: Final = 4
# Stripe refuses an expiry more than 50 years ahead.
EXPIRY_YEARS_AHEAD_MAX: Final = 50
# A bank's code is the first four letters of its IFSC (HDFC0001234 → HDFC).
_BANK_CODE: Final = re.compile(r"^[A-Z]{4}$")


# Saving a UPI payment method for later payments is a mandate (UPI Autopay), not a verification:
# a SetupIntent or setup_future_usage with one is refused with this, until the mandates arrive.
UPI_SAVE_IS_A_MANDATE: Final = (
    "A UPI payment method cannot be saved for later with a SetupIntent or setup_future_usage:"
    " in UPI, saving a payment method is a mandate (UPI Autopay), which the mandates API will"
    " create."
)


class PaymentMethodType(StrEnum):
    card = "card"
    upi = "upi"
    netbanking = "netbanking"


class Brand(StrEnum):
    visa = "visa"
    mastercard = "mastercard"
    amex = "amex"
    rupay = "rupay"
    discover = "discover"
    diners = "diners"
    jcb = "jcb"
    unionpay = "unionpay"
    unknown = "unknown"


# Lengths each brand issues; a number of another length is not a card of that brand.
_BRAND_LENGTHS: Final[dict[Brand, frozenset[int]]] = {
    Brand.visa: frozenset({13, 16, 19}),
    Brand.mastercard: frozenset({16}),
    Brand.amex: frozenset({15}),
    Brand.rupay: frozenset({16}),
    Brand.discover: frozenset({16, 17, 18, 19}),
    Brand.diners: frozenset({14, 15, 16, 17, 18, 19}),
    Brand.jcb: frozenset({16, 17, 18, 19}),
    Brand.unionpay: frozenset({16, 17, 18, 19}),
    Brand.unknown: frozenset(range(CARD_NUMBER_DIGITS_MIN, CARD_NUMBER_DIGITS_MAX + 1)),
}


def detect_brand(digits: str) -> Brand:
    """The network from the number's leading digits (IIN ranges). RuPay is checked before
    Discover because NPCI's ranges (60, 6521-6522, 508, 81, 82) sit inside or beside
    Discover's."""
    two, four, six = int(digits[:2]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4":
        return Brand.visa
    if 51 <= two <= 55 or 222100 <= six <= 272099:
        return Brand.mastercard
    if two in (34, 37):
        return Brand.amex
    if four == 6011 or 644 <= int(digits[:3]) <= 649:
        return Brand.discover
    if two in (60, 81, 82) or four in (6521, 6522) or digits[:3] == "508":
        return Brand.rupay
    if two == 65:
        return Brand.discover
    if two == 62:
        return Brand.unionpay
    if 3528 <= four <= 3589:
        return Brand.jcb
    if two in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:
        return Brand.diners
    return Brand.unknown


@dataclass(frozen=True, slots=True)
class CardNumber:
    """A checked card number: the digits stay secret; brand and last four are shown."""

    digits: SecretStr
    brand: Brand
    last4: str

    def __repr__(self) -> str:
        return f"CardNumber(brand={self.brand.value!r}, last4={self.last4!r})"


def check_card_number(number: SecretStr, param: str = "card[number]") -> CardNumber:
    raw = number.get_secret_value()
    if len(raw) > CARD_NUMBER_CHARS_MAX:
        raise InvalidNumberError(param=param)
    digits = raw.replace(" ", "").replace("-", "")
    if not digits.isascii() or not digits.isdigit():
        raise InvalidNumberError(param=param)
    if not CARD_NUMBER_DIGITS_MIN <= len(digits) <= CARD_NUMBER_DIGITS_MAX:
        raise InvalidNumberError(param=param)
    brand = detect_brand(digits)
    if len(digits) not in _BRAND_LENGTHS[brand]:
        raise InvalidNumberError(param=param)
    if not luhn_valid(digits):
        raise IncorrectNumberError(param=param)
    return CardNumber(SecretStr(digits), brand, digits[-4:])


def check_expiry(
    exp_month: int, exp_year: int, *, now_year: int, now_month: int, prefix: str = "card"
) -> tuple[int, int]:
    """``(month, year)`` with a two-digit year made four (26 → 2026); refused when the card
    expired before the current month."""
    if not 1 <= exp_month <= 12:
        raise InvalidExpiryMonthError(param=f"{prefix}[exp_month]")
    year = exp_year + 2000 if 0 <= exp_year < 100 else exp_year
    if year < now_year or year > now_year + EXPIRY_YEARS_AHEAD_MAX:
        raise InvalidExpiryYearError(param=f"{prefix}[exp_year]")
    if year == now_year and exp_month < now_month:
        raise InvalidExpiryMonthError(
            "Your card's expiration date is in the past.", param=f"{prefix}[exp_month]"
        )
    return exp_month, year


def check_cvc(cvc: SecretStr, brand: Brand, param: str = "card[cvc]") -> None:
    """3 digits, or 4 on American Express. The CVC is checked and forgotten, never stored."""
    value = cvc.get_secret_value()
    if not value.isascii() or not value.isdigit():
        raise InvalidCvcError(param=param)
    if not CVC_DIGITS_MIN <= len(value) <= CVC_DIGITS_MAX:
        raise InvalidCvcError(param=param)
    expected = 4 if brand is Brand.amex else 3
    if brand is not Brand.unknown and len(value) != expected:
        raise InvalidCvcError(param=param)


def check_upi_vpa(vpa: SecretStr, param: str = "upi[vpa]") -> SecretStr:
    """A UPI app's VPA (``kit.upi.APP_VPA``: NPCI's shape at an app's handle, without dots).
    Upper case is refused rather than folded: a VPA is an address the payer typed, and a
    silent change would charge another one. Refused with Stripe's ``invalid_vpa``."""
    if vpa_problem(vpa.get_secret_value(), APP_VPA) is not None:
        raise VpaInvalidError(param=param)
    return vpa


# Banks whose net banking beyondpay knows by name, by the first four letters of their IFSC.
# Any other well-formed code is accepted too (a sandbox bank, a bank added later): whether the
# bank can be paid through is the rail's answer at payment time, as with a card's issuer.
NETBANKING_BANKS: Final[dict[str, str]] = {
    "HDFC": "HDFC Bank",
    "ICIC": "ICICI Bank",
    "SBIN": "State Bank of India",
    "UTIB": "Axis Bank",
    "KKBK": "Kotak Mahindra Bank",
    "PUNB": "Punjab National Bank",
    "BARB": "Bank of Baroda",
    "YESB": "Yes Bank",
    "IDFB": "IDFC FIRST Bank",
    "INDB": "IndusInd Bank",
    "CNRB": "Canara Bank",
    "UBIN": "Union Bank of India",
}


def check_bank(code: str, param: str = "netbanking[bank]") -> str:
    bank = code.upper()
    if not _BANK_CODE.match(bank):
        raise BankInvalidError(param=param)
    return bank


@dataclass(frozen=True, slots=True)
class TestCard:
    __test__ = False

    number: str
    funding: str = "credit"
    country: str = "US"
    # What the card asks of the risk engine in test mode (``risk.domain.TestCardRisk``): any
    # documented test card is never stopped by the default rules or the model there, and
    # Radar's three test cards set the risk outcome themselves.
    risk: str = "normal"


# Stripe's documented test cards, by the number and by the pm_card_* token that stands for it.
TEST_CARD_TOKENS: Final[dict[str, TestCard]] = {
    "pm_card_visa": TestCard("4242424242424242"),
    "pm_card_visa_debit": TestCard("4000056655665556", funding="debit"),
    "pm_card_mastercard": TestCard("5555555555554444"),
    "pm_card_mastercard_debit": TestCard("5200828282828210", funding="debit"),
    "pm_card_mastercard_prepaid": TestCard("5105105105105100", funding="prepaid"),
    "pm_card_amex": TestCard("378282246310005"),
    "pm_card_discover": TestCard("6011111111111117"),
    "pm_card_diners": TestCard("3056930009020004"),
    "pm_card_jcb": TestCard("3566002020360505", country="JP"),
    "pm_card_unionpay": TestCard("6200000000000005", country="CN"),
    "pm_card_in": TestCard("4000003560000008", country="IN"),
    "pm_card_rupay": TestCard("6070000000000002", funding="debit", country="IN"),
    "pm_card_chargeDeclined": TestCard("4000000000000002"),
    "pm_card_chargeDeclinedInsufficientFunds": TestCard("4000000000009995"),
    "pm_card_chargeDeclinedLostCard": TestCard("4000000000009987"),
    "pm_card_chargeDeclinedStolenCard": TestCard("4000000000009979"),
    "pm_card_chargeDeclinedExpiredCard": TestCard("4000000000000069"),
    "pm_card_chargeDeclinedIncorrectCvc": TestCard("4000000000000127"),
    "pm_card_chargeDeclinedProcessingError": TestCard("4000000000000119"),
    "pm_card_chargeCustomerFail": TestCard("4000000000000341"),
    "pm_card_threeDSecure2Required": TestCard("4000000000003220"),
    "pm_card_threeDSecureRequired": TestCard("4000000000003063"),
    "pm_card_authenticationRequiredOnSetup": TestCard("4000002500003155"),
    "pm_card_authenticationRequired": TestCard("4000002760003184"),
    "pm_card_refundFail": TestCard("4000000000005126"),
    "pm_card_createDispute": TestCard("4000000000000259"),
    "pm_card_radarBlock": TestCard("4100000000000019", risk="blocked"),
    "pm_card_riskLevelHighest": TestCard("4000000000004954", risk="highest"),
    "pm_card_riskLevelElevated": TestCard("4000000000009235", risk="elevated"),
}
TEST_CARD_NUMBERS: Final[dict[str, TestCard]] = {
    card.number: card for card in TEST_CARD_TOKENS.values()
}
# A test token's card expires at the end of this many years from now (Stripe's are in the
# future whenever they are used).
TEST_CARD_EXPIRY_YEARS: Final = 3
TEST_CARD_EXPIRY_MONTH: Final = 12

# UPI test payment methods: a collect request to the sandbox VPA, or the intent flow.
UPI_TEST_TOKENS: Final[dict[str, str | None]] = {
    "pm_upi_success": "success@sandbox",
    "pm_upi_failure": "failure@sandbox",
    "pm_upi_dispute": "dispute@sandbox",
    "pm_upi_intent": None,
}

# Stripe's legacy test tokens (``tok_visa``, ``tok_chargeDeclined``, …): one for each
# ``pm_card_*`` above, the same card. Unlike a token made by ``POST /v1/tokens`` they may be
# used any number of times, as Stripe's are.
TEST_SOURCE_TOKENS: Final[dict[str, TestCard]] = {
    "tok_" + name.removeprefix("pm_card_"): card for name, card in TEST_CARD_TOKENS.items()
}


def is_test_token(value: str) -> bool:
    return value in TEST_CARD_TOKENS or value in UPI_TEST_TOKENS


# The card object's ``brand`` is spelled as Stripe's legacy card objects spell it (a payment
# method's ``card.brand`` is the lower-case network).
LEGACY_BRAND_NAMES: Final[dict[str, str]] = {
    Brand.visa: "Visa",
    Brand.mastercard: "MasterCard",
    Brand.amex: "American Express",
    Brand.rupay: "RuPay",
    Brand.discover: "Discover",
    Brand.diners: "Diners Club",
    Brand.jcb: "JCB",
    Brand.unionpay: "UnionPay",
    Brand.unknown: "Unknown",
}
