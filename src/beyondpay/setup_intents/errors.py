"""Typed errors of SetupIntents, each with Stripe's stable code."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class SetupIntentUnexpectedStateError(InvalidRequestError):
    code = "setup_intent_unexpected_state"


class PaymentMethodNotSavableError(InvalidRequestError):
    """A payment method of a type that cannot be set up for later (UPI: a mandate)."""

    code = "payment_method_invalid_parameter"
