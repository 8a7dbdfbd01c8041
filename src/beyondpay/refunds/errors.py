"""Typed errors of refunds, with Stripe's codes."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class ChargeAlreadyRefundedError(InvalidRequestError):
    code = "charge_already_refunded"


class RefundAmountTooLargeError(InvalidRequestError):
    code = "amount_too_large"


class ChargeDisputedError(InvalidRequestError):
    code = "charge_disputed"


class RefundUnexpectedStateError(InvalidRequestError):
    """A refund whose status does not allow the operation (only ``requires_action`` refunds
    may be canceled, as in Stripe)."""

    code = "refund_unexpected_state"
