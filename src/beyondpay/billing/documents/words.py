"""An amount in rupees and paise, in words, in the Indian numbering system: the line a GST
invoice prints under its total ("Rupees One Lakh Twenty-Three Thousand Four Hundred Fifty-Six
and Seventy-Eight Paise Only"). Pure, no I/O.

Indian numbering groups the rupees as crore (10^7), lakh (10^5), thousand and hundred, and
counts crores with the same words ("Ninety-Nine Thousand Crore"), which is how the largest
amount the API takes (``kit.money.AMOUNT_MINOR_MAX``, ₹9,99,99,99,99,999.99) is written.
"""

from __future__ import annotations

from typing import Final

from beyondpay.kit.money import AMOUNT_MINOR_MAX

__all__ = ["integer_in_words", "rupees_in_words"]

PAISE_PER_RUPEE: Final = 100
CRORE: Final = 10_000_000
LAKH: Final = 100_000
THOUSAND: Final = 1_000
HUNDRED: Final = 100

_UNITS: Final = (
    "Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
    "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen",
    "Nineteen",
)  # fmt: skip
_TENS: Final = (
    "", "", "Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety",
)  # fmt: skip


def _below_hundred(number: int) -> str:
    if number < len(_UNITS):
        return _UNITS[number]
    tens, units = divmod(number, 10)
    return _TENS[tens] if units == 0 else f"{_TENS[tens]}-{_UNITS[units]}"


def _below_thousand(number: int) -> list[str]:
    hundreds, rest = divmod(number, HUNDRED)
    words = [f"{_UNITS[hundreds]} Hundred"] if hundreds else []
    if rest:
        words.append(_below_hundred(rest))
    return words


def _words(number: int) -> list[str]:
    """A positive integer's words, largest group first; crores are counted recursively."""
    crores, rest = divmod(number, CRORE)
    lakhs, rest = divmod(rest, LAKH)
    thousands, rest = divmod(rest, THOUSAND)
    words: list[str] = []
    if crores:
        words += [*_words(crores), "Crore"]
    if lakhs:
        words.append(f"{_below_hundred(lakhs)} Lakh")
    if thousands:
        words.append(f"{_below_hundred(thousands)} Thousand")
    return words + _below_thousand(rest)


def integer_in_words(number: int) -> str:
    """A non-negative integer in Indian-numbering words: 123456 → "One Lakh Twenty-Three
    Thousand Four Hundred Fifty-Six"; 0 → "Zero"."""
    if type(number) is not int or number < 0:
        raise ValueError("only a non-negative integer has words here")
    return " ".join(_words(number)) if number else _UNITS[0]


def rupees_in_words(amount_minor: int) -> str:
    """An amount in paise, as a GST invoice writes it: "Rupees Ten Only", "Rupees Ten and
    Five Paise Only", "Fifty Paise Only" (no rupees), "One Paisa Only", "Rupees Zero Only".

    Refuses a negative amount (a credit is a credit note, whose amount is positive) and one
    above ``AMOUNT_MINOR_MAX``."""
    if type(amount_minor) is not int or not 0 <= amount_minor <= AMOUNT_MINOR_MAX:
        raise ValueError(f"an amount in words is between 0 and {AMOUNT_MINOR_MAX} paise")
    rupees, paise = divmod(amount_minor, PAISE_PER_RUPEE)
    paise_words = f"{integer_in_words(paise)} {'Paisa' if paise == 1 else 'Paise'}"
    if paise == 0:
        return f"Rupees {integer_in_words(rupees)} Only"
    if rupees == 0:
        return f"{paise_words} Only"
    return f"Rupees {integer_in_words(rupees)} and {paise_words} Only"
