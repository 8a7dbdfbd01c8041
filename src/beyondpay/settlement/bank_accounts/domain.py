"""Pure rules of bank accounts: the bank an IFSC names, the holder-name match of a penny drop,
the status its answer gives, and the payout hold a change starts. No I/O.

**The name match** (docs/settlement.md, "Bank accounts"). Banks print names their own way
(capitals, initials, titles, another order), so an exact comparison would fail honest
merchants, and a loose one would let a takeover through. Both names are normalised: capitals,
anything but letters a space, titles dropped (``MR``, ``MRS``, ``MS``, ``MISS``, ``DR``, ``SHRI``,
``SMT``, ``KUMARI``, ``M/S``), company words made one (``PRIVATE`` → ``PVT``, ``LIMITED`` →
``LTD``). They match when they have the same words in any order, or the same number of words
where at least one word is the same in full and every other is an initial of a word of the
other name (``A R KUMAR`` and ``Asha Rao Kumar``). Anything else is a mismatch.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final, Literal

NAME_WORDS_MAX: Final = 20  # a bound on the match's work; longer names are compared as cut
TITLES: Final = frozenset({"MR", "MRS", "MS", "MISS", "DR", "SHRI", "SMT", "KUMARI"})
_SYNONYMS: Final = {"PRIVATE": "PVT", "LIMITED": "LTD"}
_NOT_LETTER: Final = re.compile(r"[^A-Z ]+")
# The retries of a penny drop the bank did not answer (deemed): seconds after the previous try.
VALIDATION_RETRY_DELAYS_S: Final = (30, 120, 600, 1_800, 3_600)
VALIDATION_ATTEMPTS_MAX: Final = len(VALIDATION_RETRY_DELAYS_S) + 1
COOLING_PERIOD_H_DEFAULT: Final = 24

# The banks of an IFSC's first four letters: the large ones, enough to name most accounts;
# another bank's account works all the same, with ``bank_name`` null.
BANK_NAMES: Final[Mapping[str, str]] = {
    "SBIN": "STATE BANK OF INDIA",
    "HDFC": "HDFC BANK",
    "ICIC": "ICICI BANK",
    "UTIB": "AXIS BANK",
    "KKBK": "KOTAK MAHINDRA BANK",
    "PUNB": "PUNJAB NATIONAL BANK",
    "BARB": "BANK OF BARODA",
    "CNRB": "CANARA BANK",
    "UBIN": "UNION BANK OF INDIA",
    "IDIB": "INDIAN BANK",
    "BKID": "BANK OF INDIA",
    "YESB": "YES BANK",
    "INDB": "INDUSIND BANK",
    "IDFB": "IDFC FIRST BANK",
    "FDRL": "FEDERAL BANK",
    "MAHB": "BANK OF MAHARASHTRA",
    "IOBA": "INDIAN OVERSEAS BANK",
    "UCBA": "UCO BANK",
    "CBIN": "CENTRAL BANK OF INDIA",
    "PSIB": "PUNJAB AND SIND BANK",
    "AUBL": "AU SMALL FINANCE BANK",
    "RATN": "RBL BANK",
    "KARB": "KARNATAKA BANK",
    "SIBL": "SOUTH INDIAN BANK",
    "CIUB": "CITY UNION BANK",
}


class BankAccountStatus(StrEnum):
    """Stripe's statuses. ``validated`` (the account exists) is never set: the penny drop
    proves existence and the holder together, so an account goes from ``new`` straight to
    ``verified``, ``verification_failed`` (another holder) or ``errored`` (it cannot be
    credited: closed, no such account, or the bank never answered)."""

    new = "new"
    validated = "validated"
    verified = "verified"
    verification_failed = "verification_failed"
    errored = "errored"


def bank_name(ifsc: str) -> str | None:
    return BANK_NAMES.get(ifsc[:4])


def name_words(name: str) -> list[str]:
    """The name's words as the match compares them."""
    text = name.upper().replace("M/S", " ")
    words = _NOT_LETTER.sub(" ", text).split()[:NAME_WORDS_MAX]
    return [_SYNONYMS.get(word, word) for word in words if word not in TITLES]


def _initial_of(short: str, long: str) -> bool:
    return (len(short) == 1 and long.startswith(short)) or (
        len(long) == 1 and short.startswith(long)
    )


def names_match(given: str, at_bank: str) -> bool:
    """Whether the holder's name the merchant gave is the one the bank holds (the rule above)."""
    ours, theirs = name_words(given), name_words(at_bank)
    if not ours or len(ours) != len(theirs):
        return False
    rest_ours, rest_theirs = [], list(theirs)
    for word in ours:
        if word in rest_theirs:
            rest_theirs.remove(word)
        else:
            rest_ours.append(word)
    if len(rest_ours) == len(ours):
        return False  # not one word in full: initials alone prove nothing
    for word in rest_ours:
        partner = next((other for other in rest_theirs if _initial_of(word, other)), None)
        if partner is None:
            return False
        rest_theirs.remove(partner)
    return True


def status_after(
    answer: Literal["succeeded", "failed", "pending"],
    given_name: str,
    name_at_bank: str | None,
) -> BankAccountStatus | None:
    """The status a penny drop's answer gives an account; None: no answer yet (ask again)."""
    if answer == "pending":
        return None
    if answer == "failed":
        return BankAccountStatus.errored
    if name_at_bank is not None and names_match(given_name, name_at_bank):
        return BankAccountStatus.verified
    return BankAccountStatus.verification_failed


def held_until(now: datetime, cooling_period_h: int) -> datetime:
    """Until when payouts wait after the payout account was added or changed."""
    return now + timedelta(hours=cooling_period_h)
