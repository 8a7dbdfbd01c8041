"""Typed errors of the rails. Messages never hold a card number, a CVC or a VPA."""

from __future__ import annotations

from beyondpay.kit.errors import BeyondpayError, InvalidRequestError, ResourceMissingError


class RailUnavailableError(InvalidRequestError):
    """Live mode: no live connector exists (no real network is reachable from beyondpay)."""

    code = "rail_unavailable"
    default_message = (
        "No live connector is configured for this payment rail: live-mode payments cannot be"
        " sent to it. Use test mode (sk_test_ keys) and the sandbox rails."
    )


class RailCurrencyUnsupportedError(InvalidRequestError):
    code = "rail_currency_unsupported"
    default_message = "This payment rail does not support the currency."


class RailInstrumentInvalidError(InvalidRequestError):
    """A malformed instrument (a VPA not of the form local@handle, an unknown bank code)."""

    code = "rail_instrument_invalid"
    default_message = "The payment instrument is not valid for this rail."


class RailAmountInvalidError(InvalidRequestError):
    code = "rail_amount_invalid"
    default_message = "The amount must be a positive integer in minor units."


class RailRequestIdReusedError(InvalidRequestError):
    """The same request id names one operation: reusing it with other parameters is a bug."""

    code = "rail_request_id_reused"
    default_message = (
        "This rail request id was already used for an operation with different parameters"
        " (amount, currency, instrument or reference)."
    )


class RailReferenceUnknownError(ResourceMissingError):
    code = "rail_reference_unknown"
    default_message = "No such operation on this rail."


class RailPageNotFoundError(ResourceMissingError):
    code = "rail_page_not_found"
    default_message = "This sandbox page does not exist or its link is not valid."


class RailIntegrityError(BeyondpayError):
    """The rail answered for another amount or currency than was sent: nothing it says about
    this operation can be trusted, so it is neither recorded nor acted on."""

    status = 502
    type = "api_error"
    code = "rail_integrity_error"
    default_message = "The payment rail answered for a different amount or currency than sent."


class RailParameterInvalidError(InvalidRequestError):
    """A parameter the sandbox banks or the switch cannot take (a mobile number that is not 10
    digits, an unknown bank code, a note too long); the message never quotes a personal value."""

    code = "rail_parameter_invalid"
    default_message = "A parameter of this request is not valid for the rail."


class RailAccountUnknownError(InvalidRequestError):
    """An account reference that names no payer's account at the sandbox banks."""

    code = "rail_account_unknown"
    default_message = "No such account at the sandbox banks."


class PayoutRailUnusableError(InvalidRequestError):
    """A payout the rail asked for cannot carry: an amount outside the rail's range, a rail
    that cannot reach the destination (a VPA by NEFT), a currency other than rupees. ``reason``
    says which: ``amount_too_small``, ``amount_too_large``, ``destination_unsupported``,
    ``currency_unsupported``."""

    code = "payout_rail_unusable"
    default_message = "The payout cannot be sent by this rail."

    def __init__(self, message: str | None = None, *, param: str, reason: str) -> None:
        super().__init__(message, param=param)
        self.reason = reason
