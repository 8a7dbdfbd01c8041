"""Typed errors of risk, each with a stable code."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class RiskContextInvalidError(InvalidRequestError):
    """A payment context that cannot be assessed (no payer to key the history by)."""

    code = "risk_context_invalid"


class BlocklistItemExistsError(InvalidRequestError):
    code = "blocklist_item_exists"
    default_message = "The value is already on the blocklist."


class RuleInvalidError(InvalidRequestError):
    code = "risk_rule_invalid"
