"""Checkout's typed errors: each a stable ``code`` in Stripe's envelope, naming the parameter
where one is at fault."""

from __future__ import annotations

from beyondpay.kit.errors import InvalidRequestError


class SessionNotOpenError(InvalidRequestError):
    """The session is complete or expired: it cannot be paid or expired again."""

    code = "checkout_session_not_open"


class SessionPaymentProcessingError(InvalidRequestError):
    """The session's payment is on its way (UPI, net banking): it cannot be expired until the
    payment succeeds or fails."""

    code = "checkout_session_payment_processing"
    default_message = (
        "This Checkout Session's payment is processing: it cannot be expired until the payment"
        " succeeds or fails."
    )


class EmailRequiredError(InvalidRequestError):
    """The session has no customer and no email: its page asks for one before paying."""

    code = "checkout_email_required"
    default_message = "Enter your email address before paying."
