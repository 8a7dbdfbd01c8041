"""Typed errors of refunds, with Stripe's codes."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class ChargeAlreadyRefundedError(InvalidRequestError):
    code = "charge_already_refunded"


class RefundAmountTooLargeError(InvalidRequestError):
    code = "amount_too_large"


class ChargeDisputedError(InvalidRequestError):
    code = "charge_disputed"
