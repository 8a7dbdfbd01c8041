"""Pure rules of an intent's parameters that are more than stored values: which payment method
types it takes (``payment_method_types`` given, or chosen among the rails its currency allows by
``automatic_payment_methods``, ``allowed_payment_method_types`` and
``excluded_payment_method_types``), its ``payment_method_options`` (merged on update, rendered
for its types), and statement descriptors (Stripe's character rules, the merchant's descriptor
and prefix, the charge's ``calculated_statement_descriptor``). No I/O.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Final

from beyondpay.kit.errors import InvalidRequestError

# Stripe's statement descriptor rules: at most 22 characters in all, Latin characters only, at
# least one letter, none of < > \ ' " *; the card prefix (the "shortened descriptor") 2 to 10.
DESCRIPTOR_CHARS_MAX: Final = 22
DESCRIPTOR_PREFIX_CHARS_MAX: Final = 10
DESCRIPTOR_FORBIDDEN: Final = frozenset("<>\\'\"*")
# What a descriptor derived from a business name keeps: Latin letters, digits, spaces and the
# punctuation card networks print (Stripe's documented set less its forbidden characters).
_DERIVED_KEPT: Final = re.compile(r"[^A-Z0-9 .,&\-_#/+()!?:;@]")
_SPACES: Final = re.compile(r" {2,}")
# The descriptor of a merchant whose name keeps no Latin letter (a name in Devanagari, say).
DESCRIPTOR_FALLBACK: Final = "BEYONDPAY"
# Between the prefix and a suffix on a card statement: Stripe's "* ".
SUFFIX_SEPARATOR: Final = "* "

CARD_THREE_D_SECURE_FORCED: Final = frozenset({"any", "challenge"})


def descriptor_problem(text: str) -> str | None:
    """Why ``text`` cannot be (part of) a statement descriptor, or None."""
    if not text.isascii() or not text.isprintable():
        return "it may hold only unaccented Latin letters, digits, spaces and punctuation"
    if DESCRIPTOR_FORBIDDEN & set(text):
        return "it may not hold any of < > \\ ' \" *"
    if not any(character.isalpha() for character in text):
        return "it must hold at least one letter"
    return None


def merchant_descriptor(business_name: str) -> str:
    """The merchant's statement descriptor. Merchants have no descriptor setting yet, so it is
    derived from their business name as Stripe's dashboard proposes one: upper case, the
    characters statements print, at most 22."""
    kept = _DERIVED_KEPT.sub(" ", business_name.upper())
    kept = _SPACES.sub(" ", kept).strip()[:DESCRIPTOR_CHARS_MAX].strip()
    return kept if any(character.isalpha() for character in kept) else DESCRIPTOR_FALLBACK


def descriptor_prefix(descriptor: str) -> str:
    """The card prefix: the descriptor cut to 10 characters, as Stripe cuts a static
    descriptor used as the prefix when no prefix is set."""
    return descriptor[:DESCRIPTOR_PREFIX_CHARS_MAX].rstrip()


def suffix_chars_max(business_name: str) -> int:
    """How long a ``statement_descriptor_suffix`` may be after this merchant's prefix."""
    prefix = descriptor_prefix(merchant_descriptor(business_name))
    return DESCRIPTOR_CHARS_MAX - len(prefix) - len(SUFFIX_SEPARATOR)


def calculated_statement_descriptor(
    business_name: str, *, card: bool, descriptor: str | None, suffix: str | None
) -> str:
    """What the payer's statement shows (Stripe's ``calculated_statement_descriptor``): on a card,
    the merchant's prefix, ``* `` and the intent's suffix; otherwise (and on a card without a
    suffix) the intent's ``statement_descriptor`` or the merchant's. Upper case, as printed."""
    own = merchant_descriptor(business_name)
    if card and suffix:
        shown = f"{descriptor_prefix(own)}{SUFFIX_SEPARATOR}{suffix}"
    else:
        shown = descriptor or own
    return shown.upper()[:DESCRIPTOR_CHARS_MAX]


# --- which payment method types -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TypeChoice:
    """What an intent's parameters say about its payment method types."""

    explicit: Sequence[str] | None  # payment_method_types
    automatic: bool  # automatic_payment_methods[enabled]
    allow_redirects: str | None  # automatic_payment_methods[allow_redirects]
    allowed: Sequence[str] | None  # allowed_payment_method_types
    excluded: Sequence[str] | None  # excluded_payment_method_types

    @property
    def dynamic(self) -> bool:
        """Chosen among the rails the currency allows, rather than named."""
        return self.automatic or self.allowed is not None or self.excluded is not None


def only_one(first: str, second: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"You may only specify one of these parameters: {first}, {second}.", param=second
    )


def check_choice(choice: TypeChoice) -> None:
    """``payment_method_types`` names the types; the others choose them: never both."""
    if choice.explicit is None:
        return
    if choice.automatic:
        raise only_one("automatic_payment_methods", "payment_method_types")
    if choice.allowed is not None:
        raise only_one("payment_method_types", "allowed_payment_method_types")
    if choice.excluded is not None:
        raise only_one("payment_method_types", "excluded_payment_method_types")


def choose_types(
    choice: TypeChoice,
    *,
    offered: Sequence[str],
    redirecting: Collection[str],
    default: Sequence[str],
) -> list[str]:
    """The intent's ``payment_method_types``: those named, or those of ``offered`` (the rails its
    currency allows, in order) left after ``allow_redirects=never`` (drops ``redirecting``), the
    allowed list and the excluded list; a choice that leaves none is refused, naming the
    parameter that emptied it."""
    check_choice(choice)
    if choice.explicit is not None:
        return list(choice.explicit)
    if not choice.dynamic:
        return list(default)
    chosen = list(offered)
    if choice.automatic and choice.allow_redirects == "never":
        chosen = _narrowed(chosen, redirecting, False, "automatic_payment_methods[allow_redirects]")
    if choice.allowed is not None:
        chosen = _narrowed(chosen, choice.allowed, True, "allowed_payment_method_types")
    if choice.excluded is not None:
        chosen = _narrowed(chosen, choice.excluded, False, "excluded_payment_method_types")
    return chosen


def _narrowed(chosen: list[str], names: Collection[str], keep: bool, param: str) -> list[str]:
    left = [name for name in chosen if (name in names) is keep]
    if not left:
        raise InvalidRequestError(
            f"No payment method type this payment may use is left by {param}: it could be"
            f" paid with {', '.join(chosen)}.",
            param=param,
        )
    return left


# --- payment_method_options ----------------------------------------------------------------------


def merge_options(current: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """``payment_method_options`` after an update: each type's fields replace the stored ones;
    a field sent as "" is unset, as Stripe unsets."""
    merged = {kind: dict(fields) for kind, fields in current.items()}
    for kind, fields in update.items():
        kept = {**merged.get(kind, {}), **fields}
        kept = {name: value for name, value in kept.items() if value not in ("", None)}
        if kept:
            merged[kind] = kept
        else:
            merged.pop(kind, None)
    return merged


def rendered_options(stored: dict[str, Any], types: Sequence[str]) -> dict[str, Any]:
    """Stripe's ``payment_method_options``: a hash for each of the intent's types that has
    options, with Stripe's defaults where nothing was asked."""
    rendered: dict[str, Any] = {}
    if "card" in types:
        card = stored.get("card", {})
        rendered["card"] = {
            "capture_method": card.get("capture_method"),
            "installments": None,
            "mandate_options": None,
            "network": None,
            "request_three_d_secure": card.get("request_three_d_secure", "automatic"),
            "request_incremental_authorization": card.get("request_incremental_authorization"),
        }
    if "upi" in types:
        upi = stored.get("upi", {})
        usage = upi.get("setup_future_usage")
        rendered["upi"] = {"setup_future_usage": None if usage == "none" else usage}
    return rendered


def card_captures_manually(stored: dict[str, Any]) -> bool:
    """``payment_method_options[card][capture_method]=manual``: a card is held, whatever the
    intent's own ``capture_method``."""
    return bool(stored.get("card", {}).get("capture_method") == "manual")


def card_increments_requested(stored: dict[str, Any]) -> bool:
    """``request_incremental_authorization=if_available``: Stripe increments only an
    authorization that asked for it."""
    return bool(stored.get("card", {}).get("request_incremental_authorization") == "if_available")


def card_three_d_secure_forced(stored: dict[str, Any]) -> bool:
    """``request_three_d_secure`` ``any`` or ``challenge``: the payer authenticates even where
    the card would not ask (Stripe's test card 4242… included)."""
    return stored.get("card", {}).get("request_three_d_secure") in CARD_THREE_D_SECURE_FORCED
