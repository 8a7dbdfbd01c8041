"""Typed errors of payouts, with Stripe's codes where Stripe has one."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class BalanceInsufficientError(InvalidRequestError):
    """The payout is more than the available balance (Stripe's code)."""

    code = "balance_insufficient"


class ManualPayoutsNotAllowedError(InvalidRequestError):
    """A manual payout while the payout schedule is automatic: Stripe refuses it too."""

    code = "payouts_not_allowed"


class PayoutDestinationError(InvalidRequestError):
    """The destination is no verified bank account of the merchant (Stripe's code)."""

    code = "bank_account_unusable"


class PayoutUnexpectedStateError(InvalidRequestError):
    """A cancel of a payout the rail already has, a reverse of a payout not paid."""

    code = "payout_unexpected_state"


class PayoutScheduleInvalidError(InvalidRequestError):
    code = "parameter_invalid"
