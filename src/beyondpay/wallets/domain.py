"""The merchant's namespace in the ledger: pure rules, no I/O.

A merchant names its ledger accounts and transfers with its own strings. The ledger's ids are
global, so each is stored as ``wallets:<merchant id>:<mode>:<merchant's id>``: a merchant can only
ever name ids under its own prefix, so neither another merchant nor the other mode of the same
merchant can be reached, and two merchants may use the same ids. The prefix ``wallets:`` is
reserved for this module, so no account of the platform's own chart can be named either. Every
(merchant, mode) numbers its transfers in a journal of its own (the ledger name).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from beyondpay.kit.invariants import invariant
from beyondpay.ledger.domain import EXPIRY_SUFFIX
from beyondpay.merchants.domain import Caller

# The ledger's ids are 1-128 characters of [A-Za-z0-9_:-] (ledger/domain.py); its ledger names
# are 1-128 of [a-z0-9_:.-]. The merchant's part must leave room for our prefix.
LEDGER_ID_CHARS_MAX: Final = 128
LEDGER_NAME_CHARS_MAX: Final = 128
CLIENT_ID_CHARS_MAX: Final = 64
# What a merchant may use in its ids: the ledger's characters ('.' is the ledger's, for the
# voids it writes itself when a hold expires: ``<hold id>.expired``).
CLIENT_ID_PATTERN: Final = re.compile(rf"^[A-Za-z0-9_:-]{{1,{CLIENT_ID_CHARS_MAX}}}$")
# Ids the merchant may look up: its own, and the ledger's expiry voids of its holds.
LOOKUP_ID_CHARS_MAX: Final = CLIENT_ID_CHARS_MAX + len(EXPIRY_SUFFIX)
LOOKUP_ID_PATTERN: Final = re.compile(rf"^[A-Za-z0-9_:.-]{{1,{LOOKUP_ID_CHARS_MAX}}}$")
CODE_PATTERN: Final = re.compile(r"^[A-Za-z0-9_:.-]{1,64}$")
NAMESPACE_PREFIX: Final = "wallets"
# Merchant ids are ``acct_`` and 22 base62 characters (kit.ids); this bounds the prefix.
MERCHANT_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9_]{1,48}$")
_UPPER: Final = re.compile(r"[A-Z]")


@dataclass(frozen=True, slots=True)
class Namespace:
    """One (merchant, mode): the prefix of its ledger ids and the name of its journal."""

    merchant_id: str
    livemode: bool

    def __post_init__(self) -> None:
        invariant(
            MERCHANT_ID_PATTERN.match(self.merchant_id) is not None,
            "merchant id fits the ledger's id characters and leaves room for the merchant's ids",
        )

    @classmethod
    def of(cls, caller: Caller) -> Namespace:
        return cls(caller.merchant, caller.livemode)

    @property
    def mode(self) -> str:
        return "live" if self.livemode else "test"

    @property
    def prefix(self) -> str:
        # Merchant ids hold no ':', so the prefix ends exactly at the second ':' after it.
        return f"{NAMESPACE_PREFIX}:{self.merchant_id}:{self.mode}:"

    @property
    def ledger(self) -> str:
        """The journal's name: lower case only, so each upper-case letter of the merchant id is
        written ``-`` and the letter in lower case (merchant ids hold no '-': one-to-one)."""
        escaped = _UPPER.sub(lambda match: "-" + match.group(0).lower(), self.merchant_id)
        name = f"{NAMESPACE_PREFIX}:{escaped}:{self.mode}"
        invariant(len(name) <= LEDGER_NAME_CHARS_MAX, "ledger name within the ledger's limit")
        return name

    def internal(self, client_id: str) -> str:
        internal_id = self.prefix + client_id
        invariant(
            len(internal_id) <= LEDGER_ID_CHARS_MAX + len(EXPIRY_SUFFIX),
            "the merchant's id and the prefix fit the ledger's id (an expiry void's, on lookup)",
        )
        return internal_id

    def public(self, internal_id: str) -> str:
        invariant(internal_id.startswith(self.prefix), "a ledger id read back is in the namespace")
        return internal_id[len(self.prefix) :]
