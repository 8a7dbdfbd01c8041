"""Typed errors of payments, each with Stripe's stable code."""

from __future__ import annotations

from typing import Any

from beyondpay.kit.errors import BeyondpayError, InvalidRequestError


class PaymentIntentUnexpectedStateError(InvalidRequestError):
    code = "payment_intent_unexpected_state"


class AmountTooLargeError(InvalidRequestError):
    code = "amount_too_large"


class PaymentMethodUnexpectedStateError(InvalidRequestError):
    code = "payment_method_unexpected_state"


class PaymentFailedError(BeyondpayError):
    """A confirmation the rail refused at once. The work is committed (the failed charge, the
    intent back in ``requires_payment_method``), so this is rendered as an answer, not raised:
    see :func:`payment_failure_body`."""

    status = 402
    type = "card_error"
    code = "card_declined"


def payment_failure_body(
    *,
    card: bool,
    code: str,
    message: str,
    decline_code: str | None,
    network_decline_code: str | None,
    charge_id: str,
    payment_intent: dict[str, Any],
    payment_method: dict[str, Any] | None,
) -> dict[str, Any]:
    """Stripe's error body for a declined confirmation: 402 ``card_error`` for cards (the SDKs
    raise ``CardError``), 400 ``invalid_request_error`` for other methods."""
    error: dict[str, Any] = {
        "type": "card_error" if card else "invalid_request_error",
        "code": code,
        "message": message,
        "charge": charge_id,
        "payment_intent": payment_intent,
        "payment_method": payment_method,
        "doc_url": f"https://docs.stripe.com/error-codes/{code.replace('_', '-')}",
    }
    if card:
        error["param"] = None
    if decline_code is not None:
        error["decline_code"] = decline_code
    if network_decline_code is not None:
        error["network_decline_code"] = network_decline_code
    return {"error": error}


class ChargeAlreadyCapturedError(InvalidRequestError):
    code = "charge_already_captured"


class ChargeAlreadyRefundedError(InvalidRequestError):
    code = "charge_already_refunded"


class ChargeNotCapturableError(InvalidRequestError):
    """A charge that holds no authorization to capture (it failed, or was never authorized)."""

    code = "charge_not_capturable"
