"""Connect's typed errors (Stripe's codes)."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class BalanceInsufficientError(InvalidRequestError):
    """A transfer larger than the platform's available balance (Stripe: 400
    ``balance_insufficient``)."""

    code = "balance_insufficient"


class TransferReversedTooMuchError(InvalidRequestError):
    code = "amount_too_large"
