"""KYC documents: what each kind holds, the checks on it, and what of it may be shown. No I/O.

A merchant sends its PAN, optionally its GSTIN, and the bank account payouts go to. The full
details are sealed under the key ring; only the masked view (last four characters, the IFSC,
the account holder's name) is ever stored readable or shown. A merchant is approved once its PAN
and bank account are; GST registration is optional (small businesses below the threshold have
none).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Final

from beyondpay.kit.errors import ParameterMissingError
from beyondpay.merchants.errors import (
    AccountHolderNameInvalidError,
    BankAccountNumberInvalidError,
    GstinInvalidError,
    IfscInvalidError,
    PanInvalidError,
)


class KycKind(StrEnum):
    pan = "pan"
    gst = "gst"
    bank_account = "bank_account"


class KycStatus(StrEnum):
    pending_review = "pending_review"
    approved = "approved"
    rejected = "rejected"
    superseded = "superseded"


KINDS_REQUIRED: Final = frozenset({KycKind.pan, KycKind.bank_account})
REASON_CHARS_MAX: Final = 500
NAME_CHARS_MAX: Final = 140
SHOWN_CHARS: Final = 4

# PAN: five letters, four digits, a letter (the fourth letter says what kind of holder it is).
PAN_PATTERN: Final = re.compile(r"^[A-Z]{5}[0-9]{4}[A-Z]$")
# GSTIN: state code, the holder's PAN, entity number, a letter (Z by default), check character.
GSTIN_PATTERN: Final = re.compile(r"^[0-9]{2}[A-Z]{5}[0-9]{4}[A-Z][1-9A-Z][A-Z0-9][0-9A-Z]$")
GSTIN_STATE_CODE_MAX: Final = 99
_GSTIN_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# IFSC: four letters of the bank, a zero reserved for future use, six characters of the branch.
IFSC_PATTERN: Final = re.compile(r"^[A-Z]{4}0[A-Z0-9]{6}$")
ACCOUNT_NUMBER_DIGITS_MIN: Final = 9
ACCOUNT_NUMBER_DIGITS_MAX: Final = 18
ACCOUNT_NUMBER_PATTERN: Final = re.compile(
    rf"^[0-9]{{{ACCOUNT_NUMBER_DIGITS_MIN},{ACCOUNT_NUMBER_DIGITS_MAX}}}$"
)

# The fields each kind takes; every one is required.
FIELDS: Final[Mapping[KycKind, tuple[str, ...]]] = {
    KycKind.pan: ("number",),
    KycKind.gst: ("number",),
    KycKind.bank_account: ("account_number", "ifsc", "account_holder_name"),
}


def _compact(value: str) -> str:
    """Upper case without spaces: how PANs, GSTINs and IFSCs are printed and compared."""
    return "".join(value.split()).upper()


def gstin_check_character(first_fourteen: str) -> str:
    """The GSTIN's fifteenth character: a weighted base-36 sum of the first fourteen (weights
    1, 2, 1, 2, …; each product's base-36 digits added), then its complement to 36."""
    total = 0
    for position, character in enumerate(first_fourteen):
        product = _GSTIN_ALPHABET.index(character) * (2 if position % 2 else 1)
        total += product // 36 + product % 36
    return _GSTIN_ALPHABET[(36 - total % 36) % 36]


def check_pan(value: str, param: str) -> str:
    number = _compact(value)
    if not PAN_PATTERN.match(number):
        raise PanInvalidError(
            "The PAN must be five letters, four digits and a letter (AAAAA9999A).", param=param
        )
    return number


def check_gstin(value: str, param: str) -> str:
    number = _compact(value)
    if not GSTIN_PATTERN.match(number) or not 1 <= int(number[:2]) <= GSTIN_STATE_CODE_MAX:
        raise GstinInvalidError(
            "The GSTIN must be 15 characters: a state code, the holder's PAN, an entity number,"
            " a letter and a check character.",
            param=param,
        )
    if gstin_check_character(number[:14]) != number[14]:
        raise GstinInvalidError("The GSTIN's check character does not match.", param=param)
    return number


def gstin_pan(gstin: str) -> str:
    """The PAN embedded in a (checked) GSTIN."""
    return gstin[2:12]


def check_ifsc(value: str, param: str) -> str:
    code = _compact(value)
    if not IFSC_PATTERN.match(code):
        raise IfscInvalidError(
            "The IFSC must be four letters, a zero and six letters or digits (AAAA0XXXXXX).",
            param=param,
        )
    return code


def check_account_number(value: str, param: str) -> str:
    number = "".join(value.split())
    if not ACCOUNT_NUMBER_PATTERN.match(number):
        raise BankAccountNumberInvalidError(
            f"The bank account number must be {ACCOUNT_NUMBER_DIGITS_MIN} to"
            f" {ACCOUNT_NUMBER_DIGITS_MAX} digits.",
            param=param,
        )
    return number


def check_holder_name(value: str, param: str) -> str:
    name = " ".join(value.split())
    if not name or len(name) > NAME_CHARS_MAX:
        raise AccountHolderNameInvalidError(
            f"The account holder's name must be 1 to {NAME_CHARS_MAX} characters.", param=param
        )
    return name


def checked_details(kind: KycKind, sent: Mapping[str, str] | None) -> dict[str, str]:
    """The document's details, normalized; a typed 400 naming ``<kind>[<field>]`` otherwise."""
    sent = sent or {}
    for field in FIELDS[kind]:
        if not sent.get(field):
            raise ParameterMissingError.for_param(f"{kind.value}[{field}]")
    if kind is KycKind.pan:
        return {"number": check_pan(sent["number"], "pan[number]")}
    if kind is KycKind.gst:
        return {"number": check_gstin(sent["number"], "gst[number]")}
    return {
        "account_number": check_account_number(
            sent["account_number"], "bank_account[account_number]"
        ),
        "ifsc": check_ifsc(sent["ifsc"], "bank_account[ifsc]"),
        "account_holder_name": check_holder_name(
            sent["account_holder_name"], "bank_account[account_holder_name]"
        ),
    }


def masked_details(kind: KycKind, details: Mapping[str, str]) -> dict[str, Any]:
    """What may be stored readable and shown: never a whole number."""
    if kind is KycKind.bank_account:
        return {
            "last4": details["account_number"][-SHOWN_CHARS:],
            "ifsc": details["ifsc"],
            "account_holder_name": details["account_holder_name"],
        }
    return {"last4": details["number"][-SHOWN_CHARS:]}


def kyc_complete(approved: frozenset[KycKind] | set[KycKind]) -> bool:
    return approved >= KINDS_REQUIRED
