"""Typed errors of payment methods, with Stripe's codes. Messages never hold a card number, a
CVC or a VPA: only the parameter's name."""

from __future__ import annotations

from beyondpay.kit.errors import BeyondpayError, InvalidRequestError, PermissionDeniedError


class CardError(BeyondpayError):
    """Stripe answers a card it cannot accept with 402 and type ``card_error``."""

    status = 402
    type = "card_error"
    code = "card_error"


class InvalidNumberError(CardError):
    code = "invalid_number"
    default_message = "Your card number is not a valid credit card number."


class IncorrectNumberError(CardError):
    code = "incorrect_number"
    default_message = "Your card number is incorrect."


class InvalidExpiryMonthError(CardError):
    code = "invalid_expiry_month"
    default_message = "Your card's expiration month is invalid."


class InvalidExpiryYearError(CardError):
    code = "invalid_expiry_year"
    default_message = "Your card's expiration year is invalid."


class InvalidCvcError(CardError):
    code = "invalid_cvc"
    default_message = "Your card's security code is invalid."


class CardDeclinedError(CardError):
    code = "card_declined"
    default_message = "Your card was declined."


class VpaInvalidError(InvalidRequestError):
    code = "invalid_vpa"
    default_message = (
        "The VPA is not valid: it must be local@handle in lower case letters, digits, '.', '-'"
        " or '_', with no special character first or last."
    )


class BankInvalidError(InvalidRequestError):
    code = "invalid_bank"
    default_message = "The bank code must be the first four letters of the bank's IFSC."


class PaymentMethodUnexpectedStateError(InvalidRequestError):
    code = "payment_method_unexpected_state"
    default_message = "The payment method's state does not allow this operation."


class TokenAlreadyUsedError(InvalidRequestError):
    """Stripe's answer to a token used a second time."""

    code = "token_already_used"


class TokensTestModeOnlyError(PermissionDeniedError):
    """Tokens are made in test mode only: in live mode card data comes through payment methods
    (docs/api.md, "Tokens and legacy charges")."""

    code = "tokens_test_mode_only"
    default_message = (
        "Tokens can be created only with test mode keys: in live mode, create a payment method"
        " (POST /v1/payment_methods) instead."
    )
