"""The customer portal's pure rules: what a configuration's features may say, how long a link
and a visit last, the secrets of a link, a visit and a form, and how a payment method is named
to its customer. No I/O, no database.

**A link is a bearer capability.** Whoever holds a session's ``url`` is, for the portal, the
customer: so the link is a random token (256 bits) that no one can guess, of which the database
keeps only a keyed fingerprint; it opens at most once, within :data:`LINK_OPEN_S` of the
session's creation (Stripe: "sessions are short-lived and will expire if the customer does not
visit the URL"). Opening it starts a **visit**: a random secret set in an ``HttpOnly`` cookie
scoped to the session's pages, valid for :data:`VISIT_S`. The link, once opened, is no longer a
credential: copied from the browser's history or a log, it opens nothing. Every form carries an
anti-forgery token derived from the visit's secret (so another site cannot post in the visit's
name) and a one-time form id (the idempotency key of the POST: a form sent twice acts once).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from copy import deepcopy
from datetime import datetime, timedelta
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from beyondpay.billing.portal.errors import FeatureInvalidError, FeatureUnavailableError
from beyondpay.kit.errors import ParameterMissingError

# A link opens within 5 minutes of the session's creation: the merchant makes a session when
# the customer clicks "Manage billing" and redirects them to it at once.
LINK_OPEN_S: Final = 5 * 60
# A visit lasts an hour from the link's opening, however active: then the customer asks the
# merchant's site for a new session (which checks who they are again).
VISIT_S: Final = 60 * 60
LINK_TOKEN_BYTES: Final = 32
VISIT_SECRET_BYTES: Final = 32
FORM_ID_BYTES: Final = 16
# token_urlsafe's length for those byte counts (4 characters per 3 bytes, unpadded).
LINK_TOKEN_CHARS_MAX: Final = 5 + 43  # "test_" or "live_" and the token
FORM_ID_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{22}$")
_TOKEN_PATTERN: Final = re.compile(r"^(test|live)_[A-Za-z0-9_-]{43}$")
_SECRET_PATTERN: Final = re.compile(r"^[A-Za-z0-9_-]{43}$")
_CSRF_LABEL: Final = b"billing_portal.csrf"

# Stripe's limits on a configuration.
HEADLINE_CHARS_MAX: Final = 60
CONFIGURATION_NAME_CHARS_MAX: Final = 256
UPDATE_PRODUCTS_MAX: Final = 10
# Stripe names no limit of prices per product; a portal lists each as a choice, so a screenful.
PRODUCT_PRICES_MAX: Final = 20
# Stripe's adjustable quantity: from a minimum (default 1) to a maximum of at most 99.
QUANTITY_MAX: Final = 99
# What the portal page lists: a customer with more payment methods sees the newest.
PAYMENT_METHODS_SHOWN_MAX: Final = 100

# The locales Stripe's portal takes (``locale``); the page is in English whatever is chosen.
LOCALES: Final = frozenset(
    {
        "auto", "bg", "cs", "da", "de", "el", "en", "en-AU", "en-CA", "en-GB", "en-IE", "en-IN",
        "en-NZ", "en-SG", "es", "es-419", "et", "fi", "fil", "fr", "fr-CA", "hr", "hu", "id",
        "it", "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru",
        "sk", "sl", "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW",
    }
)  # fmt: skip

_CARD_BRANDS: Final = MappingProxyType(
    {
        "amex": "American Express",
        "diners": "Diners Club",
        "discover": "Discover",
        "jcb": "JCB",
        "mastercard": "Mastercard",
        "rupay": "RuPay",
        "unionpay": "UnionPay",
        "visa": "Visa",
    }
)


# ---- features ---------------------------------------------------------------------------------


class Feature(StrEnum):
    customer_update = "customer_update"
    invoice_history = "invoice_history"
    payment_method_update = "payment_method_update"
    subscription_cancel = "subscription_cancel"
    subscription_pause = "subscription_pause"
    subscription_update = "subscription_update"


def blank_features() -> dict[str, Any]:
    """Every feature off, with Stripe's defaults for its settings: what a configuration created
    without naming a feature offers of it."""
    return {
        "customer_update": {"allowed_updates": [], "enabled": False},
        "invoice_history": {"enabled": False},
        "payment_method_update": {"enabled": False, "payment_method_configuration": None},
        "subscription_cancel": {
            "cancellation_reason": {"enabled": False, "options": []},
            "enabled": False,
            "mode": "at_period_end",
            "proration_behavior": "none",
        },
        "subscription_pause": {"enabled": False},
        "subscription_update": {
            "billing_cycle_anchor": None,
            "default_allowed_updates": [],
            "enabled": False,
            "products": [],
            "proration_behavior": "none",
            "schedule_at_period_end": {"conditions": []},
            "trial_update_behavior": "end_trial",
        },
    }


def default_features() -> dict[str, Any]:
    """The default configuration's features (made for a merchant who created none): what
    Stripe's portal offers out of the box, less what needs a catalog of plans to switch to —
    the invoice history, updating payment methods, canceling at the period's end."""
    features = blank_features()
    features["invoice_history"]["enabled"] = True
    features["payment_method_update"]["enabled"] = True
    features["subscription_cancel"]["enabled"] = True
    return features


def _param(*path: str) -> str:
    return "features" + "".join(f"[{part}]" for part in path)


def features_with(
    current: Mapping[str, Any], sent: Mapping[str, Any], *, creating: bool
) -> dict[str, Any]:
    """``current`` with the features ``sent`` (the parameters as sent, unset ones left out);
    raises naming the parameter when a feature cannot be offered or its settings clash. On
    create each feature sent names whether it is ``enabled``, as Stripe requires."""
    features = deepcopy(dict(current))
    for name, changes in sent.items():
        if changes is None:  # a JSON null names nothing to change, as a feature not sent
            continue
        if creating and "enabled" not in changes:
            raise ParameterMissingError.for_param(_param(name, "enabled"))
        merged = features[name]
        for field, value in changes.items():
            if value is None:
                continue
            if field == "cancellation_reason":
                merged[field] = _cancellation_reason(merged[field], value)
            elif field == "schedule_at_period_end":
                merged[field] = {"conditions": list(value.get("conditions") or [])}
            elif field == "products":
                merged[field] = _products(value or [])
            elif value == "":  # Stripe's way to empty a list or unset a value
                merged[field] = [] if isinstance(merged.get(field), list) else None
            else:
                merged[field] = list(dict.fromkeys(value)) if isinstance(value, list) else value
    _check(features)
    return features


def _cancellation_reason(current: Mapping[str, Any], sent: Mapping[str, Any]) -> dict[str, Any]:
    reason = dict(current)
    if "enabled" in sent:
        reason["enabled"] = sent["enabled"]
    if "options" in sent:
        options = sent["options"]
        reason["options"] = list(dict.fromkeys(options)) if isinstance(options, list) else []
    return reason


def _products(sent: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    products: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, product in enumerate(sent):
        if product["product"] in seen:
            raise FeatureInvalidError(
                f"The product {product['product']} is listed twice.",
                param=_param("subscription_update", "products", str(index), "product"),
            )
        seen.add(product["product"])
        quantity = product.get("adjustable_quantity") or {}
        minimum = quantity.get("minimum")
        minimum = 1 if minimum is None else minimum
        maximum = quantity.get("maximum")
        if maximum is not None and maximum < minimum:
            raise FeatureInvalidError(
                "The adjustable quantity's maximum is below its minimum.",
                param=_param(
                    "subscription_update", "products", str(index), "adjustable_quantity", "maximum"
                ),
            )
        products.append(
            {
                "adjustable_quantity": {
                    "enabled": bool(quantity.get("enabled", False)),
                    "maximum": maximum,
                    "minimum": minimum,
                },
                "prices": list(dict.fromkeys(product["prices"])),
                "product": product["product"],
            }
        )
    return products


def _check(features: Mapping[str, Any]) -> None:
    """What no configuration may say, whichever parameters made it so."""
    if features["customer_update"]["enabled"]:
        raise FeatureUnavailableError(
            "Customers cannot edit their details in this portal yet; set"
            " features[customer_update][enabled] to false.",
            param=_param("customer_update", "enabled"),
        )
    if features["subscription_pause"]["enabled"]:
        raise FeatureUnavailableError(
            "Customers cannot pause subscriptions in this portal; set"
            " features[subscription_pause][enabled] to false.",
            param=_param("subscription_pause", "enabled"),
        )
    if features["payment_method_update"]["payment_method_configuration"]:
        raise FeatureUnavailableError(
            "Payment method configurations do not exist here: the portal offers cards.",
            param=_param("payment_method_update", "payment_method_configuration"),
        )
    cancel = features["subscription_cancel"]
    if cancel["proration_behavior"] == "create_prorations" and cancel["mode"] != "immediately":
        raise FeatureInvalidError(
            "Prorations are created only for cancellations that take effect immediately"
            " (mode=immediately): a cancellation at the period's end leaves nothing unused.",
            param=_param("subscription_cancel", "proration_behavior"),
        )
    reason = cancel["cancellation_reason"]
    if reason["enabled"] and not reason["options"]:
        raise FeatureInvalidError(
            "Name at least one cancellation reason to offer.",
            param=_param("subscription_cancel", "cancellation_reason", "options"),
        )
    update = features["subscription_update"]
    if update["enabled"] and not update["products"]:
        raise FeatureInvalidError(
            "Name the products (and their prices) customers may switch between.",
            param=_param("subscription_update", "products"),
        )


# ---- links, visits and forms ------------------------------------------------------------------


class LinkState(StrEnum):
    """What opening a session's link finds."""

    openable = "openable"
    expired = "expired"  # not opened in time
    used = "used"  # opened before: a link starts one visit


def link_state(opened_at: datetime | None, link_expires_at: datetime, now: datetime) -> LinkState:
    if opened_at is not None:
        return LinkState.used
    if now >= link_expires_at:
        return LinkState.expired
    return LinkState.openable


def link_expires_at(created_at: datetime) -> datetime:
    return created_at + timedelta(seconds=LINK_OPEN_S)


def visit_expires_at(opened_at: datetime) -> datetime:
    return opened_at + timedelta(seconds=VISIT_S)


def new_link_token(livemode: bool) -> str:
    """``test_…`` or ``live_…`` and 256 random bits: the secret part of a session's ``url``
    (the mode tells a support engineer which key made it, as Stripe's links do)."""
    return f"{'live' if livemode else 'test'}_{secrets.token_urlsafe(LINK_TOKEN_BYTES)}"


def well_formed_link_token(token: str) -> bool:
    return len(token) <= LINK_TOKEN_CHARS_MAX and _TOKEN_PATTERN.match(token) is not None


def new_visit_secret() -> str:
    return secrets.token_urlsafe(VISIT_SECRET_BYTES)


def well_formed_visit_secret(secret: str) -> bool:
    return _SECRET_PATTERN.match(secret) is not None


def csrf_token(visit_secret: str) -> str:
    """The anti-forgery token of a visit's forms: derived from the visit's secret, which only
    the visit's browser holds (in an ``HttpOnly`` cookie another site cannot read), so a page
    elsewhere cannot post a form the server accepts."""
    digest = hmac.new(visit_secret.encode(), _CSRF_LABEL, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_matches(visit_secret: str, presented: str | None) -> bool:
    if presented is None:
        return False
    return hmac.compare_digest(csrf_token(visit_secret).encode(), presented.encode())


def new_form_id() -> str:
    return secrets.token_urlsafe(FORM_ID_BYTES)


# ---- what the page shows ----------------------------------------------------------------------


def method_label(kind: str, details: Mapping[str, Any]) -> str:
    """A payment method as its customer knows it: a card's brand and last four digits, a UPI
    address masked, a bank's name; never a whole number or address (none is rendered)."""
    if kind == "card":
        brand = str(details.get("brand") or "card")
        return f"{_CARD_BRANDS.get(brand, brand.title())} •••• {details.get('last4') or '····'}"
    if kind == "upi":
        return f"UPI · {details.get('vpa') or 'app payments'}"
    if kind == "netbanking":
        return f"Net banking · {details.get('bank_name') or details.get('bank') or 'bank'}"
    return kind


def expiry_label(details: Mapping[str, Any]) -> str | None:
    """ "Expires 12/2029" for a card; None for what does not expire."""
    month, year = details.get("exp_month"), details.get("exp_year")
    if not month or not year:
        return None
    return f"Expires {int(month):02d}/{int(year)}"
