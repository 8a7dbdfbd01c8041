"""Typed errors of the ledger API."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class LedgerAccountExistsError(InvalidRequestError):
    """An account with this id exists with other currency, code or flags (same ones: the
    existing account is returned, as a retry should see)."""

    code = "resource_already_exists"
    default_message = "A ledger account with this id already exists with other values."
