"""Pure rules of PSP addresses: VPA usernames and formats, masks, mobile numbers, alias scopes.

Nothing here does I/O. A VPA is NPCI's ``local@handle``, checked and masked by ``kit.upi``
(shared with the rest of beyondpay). Usernames chosen at this PSP are stricter still: 3 to 50
characters, no two specials in a row, no reserved word (what could pass for the PSP, a bank or
NPCI) and no bare mobile number (which would pass for someone else's mobile VPA).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Final, Literal

from pydantic import SecretStr

from beyondpay.kit.errors import InvalidRequestError
from beyondpay.kit.upi import mask_vpa
from beyondpay.psp.addresses.errors import (
    AliasExpiredError,
    AliasNotPermittedError,
    AliasRevokedError,
    AliasUsedError,
    MobileInvalidError,
    VpaUsernameInvalidError,
    VpaUsernameReservedError,
)

USERNAME_CHARS_MIN: Final = 3
USERNAME_CHARS_MAX: Final = 50
VPAS_PER_PAYER_MAX: Final = 5
ALIASES_PER_PAYER_MAX: Final = 50
# 16 characters of base32: 80 random bits, so an alias cannot be guessed or enumerated.
ALIAS_LOCAL_CHARS: Final = 16
ALIAS_ALPHABET: Final = "abcdefghijklmnopqrstuvwxyz234567"
ALIAS_TTL_S_MAX: Final = 366 * 86400
# Always four stars, whatever the length: a mask must not tell how long the name is.
MASK_STARS: Final = 4
NICKNAME_CHARS_MAX: Final = 50
MERCHANT_DISPLAY_NAME_CHARS_MAX: Final = 99
# Resolving names is how an address book is scraped: a payer may look up this many addresses
# (VPAs, mobile numbers, aliases, beneficiaries saved) per minute.
RESOLVES_PER_MINUTE_MAX: Final = 30

SPECIALS: Final = frozenset("._-")
RESERVED_USERNAMES: Final = frozenset(
    {
        "admin",
        "administrator",
        "alias",
        "bank",
        "beyondpay",
        "bhim",
        "care",
        "cashback",
        "customercare",
        "fraud",
        "help",
        "helpdesk",
        "helpline",
        "info",
        "kyc",
        "merchant",
        "noreply",
        "npci",
        "official",
        "payments",
        "psp",
        "rbi",
        "refund",
        "root",
        "security",
        "support",
        "system",
        "upi",
        "verify",
    }
)

_USERNAME_CHARS: Final = re.compile(r"^[a-z0-9._-]+$")
# Handles of other PSPs may have dots (``account@ifsc.ifsc.npci``, see kit.upi); ours never do.
_OWN_HANDLE: Final = re.compile(r"^[a-z][a-z0-9]{1,31}$")
_MOBILE: Final = re.compile(r"^[6-9][0-9]{9}$")
_MOBILE_LIKE: Final = re.compile(r"^(?:91)?[0-9]{10}$")
_WORDS: Final = re.compile(r"[._-]")


def check_handle(handle: str) -> str:
    """This PSP's handle (``BEYONDPAY_PSP_HANDLE``): letters and digits, no dot, so that its
    VPAs look like every other PSP's and the log redactor recognizes them."""
    if not _OWN_HANDLE.match(handle):
        raise ValueError("a PSP handle is 2 to 32 lower case letters and digits, letter first")
    return handle


def alias_handle(handle: str) -> str:
    """The handle aliases live at: apart from VPAs', so no alias can collide with a username."""
    return f"{handle}alias"


def check_username(username: str, *, handle: str, param: str = "username") -> str:
    """The username as given, if a payer may take it at ``handle``; a 400 naming ``param``."""
    if "@" in username:
        raise VpaUsernameInvalidError(
            f"give only the part before the '@' (the handle is always @{handle})", param=param
        )
    if not USERNAME_CHARS_MIN <= len(username) <= USERNAME_CHARS_MAX:
        raise VpaUsernameInvalidError(
            f"it must be {USERNAME_CHARS_MIN} to {USERNAME_CHARS_MAX} characters long",
            param=param,
        )
    if username != username.lower():
        raise VpaUsernameInvalidError("it must be in lower case", param=param)
    if not _USERNAME_CHARS.match(username):
        raise VpaUsernameInvalidError(
            "it may hold only letters a-z, digits and the characters '.', '_' and '-'",
            param=param,
        )
    if username[0] in SPECIALS or username[-1] in SPECIALS:
        raise VpaUsernameInvalidError("it cannot start or end with '.', '_' or '-'", param=param)
    if any(first in SPECIALS and second in SPECIALS for first, second in pairwise(username)):
        raise VpaUsernameInvalidError(
            "it cannot have two of '.', '_' and '-' in a row", param=param
        )
    if _MOBILE_LIKE.match(username):
        raise VpaUsernameInvalidError(
            "a username of digits alone reads as a mobile number: add a letter", param=param
        )
    words = set(_WORDS.split(username))
    if username in RESERVED_USERNAMES or words & RESERVED_USERNAMES or handle in words:
        raise VpaUsernameReservedError(param=param)
    return username


def split_vpa(vpa: SecretStr) -> tuple[str, str]:
    local, _, handle = vpa.get_secret_value().partition("@")
    return local, handle


def mask_address(address: SecretStr) -> str:
    """``asha.rao@beyondpay`` → ``as****@beyondpay``: the handle in full (which PSP), the first
    two characters of the name and always four stars."""
    return mask_vpa(address, stars=MASK_STARS)


def check_mobile(mobile: SecretStr, *, param: str = "mobile") -> SecretStr:
    """A 10-digit Indian mobile number; ``+91`` or ``91`` in front is dropped."""
    value = mobile.get_secret_value().strip().replace(" ", "")
    if value.startswith("+91"):
        value = value[3:]
    elif len(value) == 12 and value.startswith("91"):
        value = value[2:]
    if not _MOBILE.match(value):
        raise MobileInvalidError(param=param)
    return SecretStr(value)


def looks_like_mobile(text: str) -> bool:
    return _MOBILE_LIKE.match(text.strip().removeprefix("+")) is not None


def vpa_fingerprint_input(vpa: SecretStr) -> str:
    """What a VPA's keyed fingerprint is taken of (prefixed with its kind, so a VPA's and a
    mobile number's fingerprints never meet)."""
    return f"vpa:{vpa.get_secret_value()}"


def alias_fingerprint_input(alias: SecretStr) -> str:
    return f"alias:{alias.get_secret_value()}"


@dataclass(frozen=True, slots=True)
class AliasScope:
    """Who may pay through an alias and until when. Several parts combine."""

    counterparty_payer_id: str | None = None
    merchant_id: str | None = None
    one_time: bool = False
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AliasState:
    revoked: bool
    used: bool


def check_alias_use(
    scope: AliasScope,
    state: AliasState,
    *,
    now: datetime,
    payer_id: str | None,
    merchant_id: str | None = None,
    param: str = "alias",
) -> None:
    """Whether ``payer_id`` (or the merchant ``merchant_id``) may pay through the alias now.
    Revocation is checked first: it is the owner's own word and overrides everything."""
    if state.revoked:
        raise AliasRevokedError(param=param)
    if scope.expires_at is not None and now >= scope.expires_at:
        raise AliasExpiredError(param=param)
    if scope.one_time and state.used:
        raise AliasUsedError(param=param)
    if scope.counterparty_payer_id is not None and scope.counterparty_payer_id != payer_id:
        raise AliasNotPermittedError(param=param)
    if scope.merchant_id is not None and scope.merchant_id != merchant_id:
        raise AliasNotPermittedError(param=param)


@dataclass(frozen=True, slots=True)
class Payee:
    """Who a payment goes to, as resolved at the moment of paying. ``masked`` is what the payer
    may be shown (an alias's mask when paid by alias: never the VPA behind it)."""

    kind: Literal["payer", "merchant"]
    payer_id: str | None
    merchant_id: str | None
    verified_name: str
    masked: str
    account_ref: str
    # None only for a payee no VPA of this PSP stands for (a merchant collecting through the
    # switch, which transfers builds itself).
    vpa_id: str | None
    alias_id: str | None
    merchant_category_code: str | None


def folded(address: SecretStr) -> SecretStr:
    """UPI addresses are not case sensitive: apps fold what the payer typed to lower case."""
    return SecretStr(address.get_secret_value().strip().lower())


def exactly_one(names: Sequence[str], given: Mapping[str, object | None]) -> str:
    """The one of ``names`` given a value; a 400 naming the parameter when none or several are."""
    sent = [name for name in names if given.get(name) is not None]
    if len(sent) != 1:
        listed = ", ".join(names[:-1]) + f" or {names[-1]}"
        raise InvalidRequestError(
            f"Give exactly one of {listed}.", param=sent[1] if len(sent) > 1 else names[0]
        )
    return sent[0]
