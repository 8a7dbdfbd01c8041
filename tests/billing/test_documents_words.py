"""Amounts in words, Indian numbering: every group (crore, lakh, thousand, hundred), zero, paise
alone, the largest amount the API takes, refusals; and, as properties, the words read back
to the amount by a parser written here, and the words agree with the amount's Indian digit
grouping as ``kit.money`` prints it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beyondpay.billing.documents.words import integer_in_words, rupees_in_words
from beyondpay.kit.money import AMOUNT_MINOR_MAX, Money

_SMALL_WORDS = (
    "Zero", "One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine", "Ten",
    "Eleven", "Twelve", "Thirteen", "Fourteen", "Fifteen", "Sixteen", "Seventeen", "Eighteen",
    "Nineteen",
)  # fmt: skip
_TENS_WORDS = ("Twenty", "Thirty", "Forty", "Fifty", "Sixty", "Seventy", "Eighty", "Ninety")
_SMALL = {word: value for value, word in enumerate(_SMALL_WORDS)}
_TENS = {word: 10 * value for value, word in enumerate(_TENS_WORDS, 2)}
_GROUPS = {"Thousand": 1_000, "Lakh": 100_000}


def parse_integer(words: str) -> int:
    """The test's own reading of Indian-numbering words: a count before "Hundred" multiplies,
    one before "Thousand" or "Lakh" is set aside at its place, and "Crore" scales everything
    read so far (a count of crores is itself written with these words)."""
    total = current = 0
    for token in words.split():
        if token == "Hundred":
            current *= 100
        elif token in _GROUPS:
            total += current * _GROUPS[token]
            current = 0
        elif token == "Crore":
            total = (total + current) * 10_000_000
            current = 0
        else:
            for part in token.split("-"):
                current += _SMALL[part] if part in _SMALL else _TENS[part]
    return total + current


def parse_amount(text: str) -> int:
    """ "Rupees X and Y Paise Only", "Rupees X Only", "Y Paise Only", "One Paisa Only"."""
    assert text.endswith(" Only"), text
    body = text.removesuffix(" Only")
    rupees = 0
    paise_words = body
    if body.startswith("Rupees "):
        rupee_words, _, paise_words = body.removeprefix("Rupees ").partition(" and ")
        rupees = parse_integer(rupee_words)
    if not paise_words:
        return rupees * 100
    number, unit = paise_words.rsplit(" ", 1)
    assert unit == ("Paisa" if number == "One" else "Paise"), text
    paise = parse_integer(number)
    assert 0 < paise < 100, text
    return rupees * 100 + paise


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "Zero"),
        (7, "Seven"),
        (10, "Ten"),
        (11, "Eleven"),
        (19, "Nineteen"),
        (20, "Twenty"),
        (21, "Twenty-One"),
        (45, "Forty-Five"),
        (99, "Ninety-Nine"),
        (100, "One Hundred"),
        (101, "One Hundred One"),
        (110, "One Hundred Ten"),
        (999, "Nine Hundred Ninety-Nine"),
        (1_000, "One Thousand"),
        (1_001, "One Thousand One"),
        (10_000, "Ten Thousand"),
        (99_999, "Ninety-Nine Thousand Nine Hundred Ninety-Nine"),
        (1_00_000, "One Lakh"),
        (1_00_100, "One Lakh One Hundred"),
        (1_23_456, "One Lakh Twenty-Three Thousand Four Hundred Fifty-Six"),
        (10_00_000, "Ten Lakh"),
        (99_00_000, "Ninety-Nine Lakh"),
        (1_00_00_000, "One Crore"),
        (1_00_00_001, "One Crore One"),
        (
            12_34_56_789,
            "Twelve Crore Thirty-Four Lakh Fifty-Six Thousand Seven Hundred Eighty-Nine",
        ),
        (1_00_00_00_000, "One Hundred Crore"),
        (1_000_00_00_000, "One Thousand Crore"),
        (1_00_000_00_00_000, "One Lakh Crore"),
        (
            999_999_999_999,
            "Ninety-Nine Thousand Nine Hundred Ninety-Nine Crore Ninety-Nine Lakh Ninety-Nine"
            " Thousand Nine Hundred Ninety-Nine",
        ),
    ],
)
def test_integers_in_indian_numbering(number: int, words: str) -> None:
    assert integer_in_words(number) == words
    assert parse_integer(words) == number


@pytest.mark.parametrize(
    ("amount_minor", "words"),
    [
        (
            12_345_678,
            "Rupees One Lakh Twenty-Three Thousand Four Hundred Fifty-Six and Seventy-Eight"
            " Paise Only",
        ),
        (0, "Rupees Zero Only"),
        (1, "One Paisa Only"),
        (50, "Fifty Paise Only"),
        (99, "Ninety-Nine Paise Only"),
        (100, "Rupees One Only"),
        (1_005, "Rupees Ten and Five Paise Only"),
        (1_001, "Rupees Ten and One Paisa Only"),
        (14_995_000, "Rupees One Lakh Forty-Nine Thousand Nine Hundred Fifty Only"),
        (10_000_000_00, "Rupees One Crore Only"),
        (
            AMOUNT_MINOR_MAX,
            "Rupees Ninety-Nine Thousand Nine Hundred Ninety-Nine Crore Ninety-Nine Lakh"
            " Ninety-Nine Thousand Nine Hundred Ninety-Nine and Ninety-Nine Paise Only",
        ),
    ],
)
def test_amounts_as_an_invoice_writes_them(amount_minor: int, words: str) -> None:
    assert rupees_in_words(amount_minor) == words
    assert parse_amount(words) == amount_minor


@pytest.mark.parametrize("amount_minor", [-1, AMOUNT_MINOR_MAX + 1, True, 1.0, "100"])
def test_refuses_what_is_no_amount_in_range(amount_minor: object) -> None:
    with pytest.raises(ValueError, match="between 0 and"):
        rupees_in_words(amount_minor)  # type: ignore[arg-type]


@pytest.mark.parametrize("number", [-1, False, 2.5])
def test_integer_in_words_refuses_what_is_no_count(number: object) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        integer_in_words(number)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=AMOUNT_MINOR_MAX))
def test_the_words_read_back_to_the_amount(amount_minor: int) -> None:
    words = rupees_in_words(amount_minor)
    assert parse_amount(words) == amount_minor
    assert words.endswith(" Only") and "  " not in words


@given(st.integers(min_value=0, max_value=AMOUNT_MINOR_MAX // 100))
def test_the_words_follow_the_indian_digit_grouping(rupees: int) -> None:
    """ "9,99,99,99,99,999.00": the last group of three is the hundreds, the two-digit groups
    before it thousands and lakhs, and everything before those counts crores."""
    figure = Money(rupees * 100, "inr").format(symbol=False).removesuffix(".00")
    groups = [int(group) for group in figure.split(",")]
    hundreds = groups[-1]
    thousands = groups[-2] if len(groups) >= 2 else 0
    lakhs = groups[-3] if len(groups) >= 3 else 0
    crores = int("".join(f"{group:02d}" for group in groups[:-3]) or "0")
    words = integer_in_words(rupees).split()
    assert ("Crore" in words) == (crores > 0)
    # Below a lakh of crores, "Lakh" names the lakh group alone.
    assert ("Lakh" in words) == (lakhs > 0)
    below_crore = words[words.index("Crore") + 1 :] if "Crore" in words else words
    assert parse_integer(" ".join(below_crore) or "Zero") == lakhs * 100_000 + thousands * 1_000 + (
        hundreds
    )
    assert ("Thousand" in below_crore) == (thousands > 0)
    assert ("Hundred" in below_crore) == (hundreds >= 100)
