"""Who may call what: key kinds, their text form, scopes, and the access rule. No I/O."""

from __future__ import annotations

import ipaddress
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from beyondpay.kit.invariants import invariant

KEY_SECRET_CHARS: Final = 40  # base62: 238 bits
_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
KEY_PATTERN: Final = re.compile(r"^(sk|pk|rk|ak)_(test|live)_[0-9A-Za-z]{40}$")
KEY_NAME_CHARS_MAX: Final = 100
ALLOWED_IPS_MAX: Final = 50
ROLL_OVERLAP_S_MAX: Final = 7 * 86400


# Platform-admin keys belong to no merchant: their idempotency keys and audit records are kept
# under this scope (merchant ids are `acct_…`, so it cannot collide with one).
PLATFORM_SCOPE: Final = "platform"


class KeyKind(StrEnum):
    secret = "secret"  # noqa: S105 (a kind of key, not a password)
    publishable = "publishable"
    restricted = "restricted"
    admin = "admin"
    # Not an API key: a PSP payer's session (beyondpay.psp.identity.auth). Its caller carries
    # the payer's id where a merchant key has the merchant's, so idempotency keys and audit
    # records of PSP routes are kept per payer. It has no key text and no merchant route admits it.
    payer = "payer"


_PREFIX: Final = {
    KeyKind.secret: "sk",
    KeyKind.publishable: "pk",
    KeyKind.restricted: "rk",
    KeyKind.admin: "ak",
}
_KIND_OF_PREFIX: Final = {prefix: kind for kind, prefix in _PREFIX.items()}


class MerchantStatus(StrEnum):
    pending_kyc = "pending_kyc"
    active = "active"
    suspended = "suspended"


class Scope(StrEnum):
    """What a restricted key may do: ``<resource>:read`` or ``<resource>:write``.

    ``write`` implies ``read`` on the same resource. Secret keys hold every scope.
    """

    customers_read = "customers:read"
    customers_write = "customers:write"
    ledger_read = "ledger:read"
    ledger_write = "ledger:write"
    audit_events_read = "audit_events:read"
    api_keys_read = "api_keys:read"
    api_keys_write = "api_keys:write"
    account_read = "account:read"
    account_write = "account:write"
    events_read = "events:read"
    webhook_endpoints_read = "webhook_endpoints:read"
    webhook_endpoints_write = "webhook_endpoints:write"
    payment_methods_read = "payment_methods:read"
    payment_methods_write = "payment_methods:write"
    payment_intents_read = "payment_intents:read"
    payment_intents_write = "payment_intents:write"
    charges_read = "charges:read"
    charges_write = "charges:write"
    refunds_read = "refunds:read"
    refunds_write = "refunds:write"
    balance_read = "balance:read"
    upi_read = "upi:read"
    upi_write = "upi:write"
    limits_read = "limits:read"
    limits_write = "limits:write"
    risk_read = "risk:read"
    risk_write = "risk:write"
    test_clocks_read = "test_clocks:read"
    test_clocks_write = "test_clocks:write"
    disputes_read = "disputes:read"
    disputes_write = "disputes:write"
    setup_intents_read = "setup_intents:read"
    setup_intents_write = "setup_intents:write"
    tokens_read = "tokens:read"
    tokens_write = "tokens:write"
    tax_rates_read = "tax_rates:read"
    tax_rates_write = "tax_rates:write"
    tax_ids_read = "tax_ids:read"
    tax_ids_write = "tax_ids:write"
    products_read = "products:read"
    products_write = "products:write"
    prices_read = "prices:read"
    prices_write = "prices:write"
    coupons_read = "coupons:read"
    coupons_write = "coupons:write"
    promotion_codes_read = "promotion_codes:read"
    promotion_codes_write = "promotion_codes:write"
    billing_portal_read = "billing_portal:read"
    billing_portal_write = "billing_portal:write"
    # Invoices and their items (Stripe's restricted keys hold both under "Invoices").
    invoices_read = "invoices:read"
    invoices_write = "invoices:write"
    subscriptions_read = "subscriptions:read"
    subscriptions_write = "subscriptions:write"
    credit_notes_read = "credit_notes:read"
    credit_notes_write = "credit_notes:write"
    checkout_sessions_read = "checkout_sessions:read"
    checkout_sessions_write = "checkout_sessions:write"
    payment_links_read = "payment_links:read"
    payment_links_write = "payment_links:write"
    # The settlement schedule and its windows (issue 20).
    settlement_read = "settlement:read"
    settlement_write = "settlement:write"
    # The merchant's payout bank accounts (Stripe's external accounts).
    external_accounts_read = "external_accounts:read"
    external_accounts_write = "external_accounts:write"
    # Payouts to the merchant's bank accounts (issue 20).
    payouts_read = "payouts:read"
    payouts_write = "payouts:write"
    # Connect: a platform's connected accounts (``accounts``) and its transfers to them.
    accounts_read = "accounts:read"
    accounts_write = "accounts:write"
    transfers_read = "transfers:read"
    transfers_write = "transfers:write"
    # Report runs (Stripe's reporting) and the files they produce.
    reporting_read = "reporting:read"
    reporting_write = "reporting:write"
    files_read = "files:read"
    files_write = "files:write"
    # Connect: the application fees a platform collects on its destination charges.
    application_fees_read = "application_fees:read"
    application_fees_write = "application_fees:write"

    @property
    def resource(self) -> str:
        return self.value.partition(":")[0]

    @property
    def is_write(self) -> bool:
        return self.value.endswith(":write")


# Scopes a restricted key can never hold: managing keys would let it mint a secret key.
SCOPES_SECRET_ONLY: Final = frozenset({Scope.api_keys_write})


def new_key_text(kind: KeyKind, livemode: bool) -> str:
    mode = "live" if livemode else "test"
    body = "".join(secrets.choice(_ALPHABET) for _ in range(KEY_SECRET_CHARS))
    return f"{_PREFIX[kind]}_{mode}_{body}"


def parse_key_text(text: str) -> tuple[KeyKind, bool] | None:
    """``(kind, livemode)`` of a well-formed key, else None. Says nothing of whether it exists."""
    if not KEY_PATTERN.match(text):
        return None
    prefix, mode, _ = text.split("_", 2)
    return _KIND_OF_PREFIX[prefix], mode == "live"


def redact_key(text: str) -> str:
    """``sk_test_…wxyz``: the form a list of keys shows."""
    prefix, mode, body = text.split("_", 2)
    return f"{prefix}_{mode}_...{body[-4:]}"


def holds_scope(granted: frozenset[str], needed: Scope) -> bool:
    if needed.value in granted:
        return True
    return not needed.is_write and f"{needed.resource}:write" in granted


def parse_allowed_ips(values: Sequence[str]) -> list[str]:
    """Networks in canonical CIDR form; ``ValueError`` naming the bad entry's index."""
    networks: list[str] = []
    for index, value in enumerate(values):
        try:
            networks.append(str(ipaddress.ip_network(value.strip(), strict=False)))
        except ValueError:
            raise ValueError(str(index)) from None
    return networks


def ip_allowed(address: str | None, allowed: Sequence[str] | None) -> bool:
    if not allowed:
        return True
    if address is None:
        return False
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    except ValueError:
        return False
    # A server listening on "::" sees an IPv4 client as ::ffff:a.b.c.d; match it as IPv4.
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip in ipaddress.ip_network(network) for network in allowed)


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller of a request: every merchant query is scoped by
    ``(merchant_id, livemode)``."""

    key_id: str
    kind: KeyKind
    livemode: bool
    merchant_id: str | None  # None only for platform-admin keys
    merchant_status: MerchantStatus | None
    scopes: frozenset[str] = field(default_factory=frozenset)
    allowed_ips: tuple[str, ...] = ()
    last_used_at: datetime | None = None
    # Connect: the platform whose key acts as ``merchant_id`` (a connected account of it) by the
    # ``Stripe-Account`` header; None when a merchant acts as itself.
    platform_id: str | None = None

    @property
    def merchant(self) -> str:
        """The merchant id of a merchant key (routes for merchants never admit platform keys)."""
        invariant(self.merchant_id is not None, "merchant route reached with a platform key")
        return self.merchant_id or ""

    @property
    def mode(self) -> str:
        return "live" if self.livemode else "test"
