"""Typed API errors, rendered by one handler into Stripe's error envelope.

Each class has a stable ``code`` that clients may switch on forever, an HTTP ``status`` and a
Stripe error ``type``. Messages are shown to API callers and written to logs: callers must never
put the value of a secret (an API key, a card number, a password, a token) in a message. Values
from the request that are echoed back (an unknown id, a bad integer) are shortened to
``ECHO_CHARS_MAX`` characters.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar, Final, Self

__all__ = [
    "ECHO_CHARS_MAX",
    "ApiKeyMissingError",
    "AuthenticationError",
    "BeyondpayError",
    "BodyMalformedError",
    "IdempotencyConflictError",
    "IdempotencyError",
    "InternalError",
    "InvalidRequestError",
    "MethodNotAllowedError",
    "ParameterInvalidEmptyError",
    "ParameterInvalidIntegerError",
    "ParameterInvalidStringError",
    "ParameterMissingError",
    "ParameterUnknownError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResourceMissingError",
    "RouteNotFoundError",
    "ServiceUnavailableError",
]

# Longest piece of request input quoted in a message.
ECHO_CHARS_MAX: Final = 100

_NO_HEADERS: Final[Mapping[str, str]] = MappingProxyType({})


def _echo(value: str) -> str:
    return value if len(value) <= ECHO_CHARS_MAX else value[:ECHO_CHARS_MAX] + "..."


class BeyondpayError(Exception):
    """Base of every error an API caller may see. Subclasses set ``code`` (and usually
    ``status``, ``type`` and ``default_message``)."""

    status: ClassVar[int] = 400
    # Stripe's types: api_error, card_error, idempotency_error, invalid_request_error,
    # authentication_error, permission_error, rate_limit_error.
    type: ClassVar[str] = "invalid_request_error"
    code: ClassVar[str]
    default_message: ClassVar[str] = "The request could not be processed."
    # Headers every response for this error carries (WWW-Authenticate on 401, for example).
    default_headers: ClassVar[Mapping[str, str]] = _NO_HEADERS

    def __init__(
        self,
        message: str | None = None,
        *,
        param: str | None = None,
        decline_code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if getattr(type(self), "code", None) is None:
            raise TypeError(f"{type(self).__name__} must define a code")
        self.message: str = message if message is not None else self.default_message
        self.param: str | None = param
        self.decline_code: str | None = decline_code
        merged = {**self.default_headers, **(headers or {})}
        self.headers: dict[str, str] | None = merged or None
        super().__init__(self.message)

    def to_dict(self) -> dict[str, object]:
        """The response body: ``{"error": {...}}``, leaving out absent optional keys as Stripe
        does."""
        body: dict[str, object] = {"type": self.type, "code": self.code, "message": self.message}
        if self.param is not None:
            body["param"] = self.param
        if self.decline_code is not None:
            body["decline_code"] = self.decline_code
        return {"error": body}


class InvalidRequestError(BeyondpayError):
    code = "parameter_invalid"
    default_message = "Invalid request."


class ParameterMissingError(InvalidRequestError):
    code = "parameter_missing"
    default_message = "Missing required param."

    @classmethod
    def for_param(cls, param: str) -> Self:
        return cls(f"Missing required param: {_echo(param)}.", param=param)


class ParameterUnknownError(InvalidRequestError):
    code = "parameter_unknown"
    default_message = "Received unknown parameter."

    @classmethod
    def for_param(cls, param: str) -> Self:
        return cls(f"Received unknown parameter: {_echo(param)}", param=param)


class ParameterInvalidIntegerError(InvalidRequestError):
    code = "parameter_invalid_integer"
    default_message = "Invalid integer."

    @classmethod
    def for_param(cls, param: str, value: str) -> Self:
        return cls(f"Invalid integer: {_echo(value)}", param=param)


class ParameterInvalidStringError(InvalidRequestError):
    code = "parameter_invalid_string"
    default_message = "Invalid string."

    @classmethod
    def for_param(cls, param: str) -> Self:
        # The value is not echoed: a string parameter may hold personal data.
        return cls(f"Invalid string for parameter: {_echo(param)}", param=param)


class ParameterInvalidEmptyError(InvalidRequestError):
    code = "parameter_invalid_empty"
    default_message = "A parameter cannot be empty."

    @classmethod
    def for_param(cls, param: str) -> Self:
        name = _echo(param)
        message = (
            f"You passed an empty string for '{name}'. We assume empty values are an attempt to"
            f" unset a parameter; however '{name}' cannot be unset. You should remove '{name}'"
            " from your request or supply a non-empty value."
        )
        return cls(message, param=param)


class ResourceMissingError(InvalidRequestError):
    status = 404
    code = "resource_missing"
    default_message = "No such object."

    @classmethod
    def for_object(cls, kind: str, id_: str, *, param: str | None = "id") -> Self:
        """``No such customer: 'cus_x'``; ``param`` names the parameter that held the id."""
        return cls(f"No such {kind}: '{_echo(id_)}'", param=param)


class RouteNotFoundError(InvalidRequestError):
    status = 404
    code = "route_not_found"
    default_message = "Unrecognized request URL."

    @classmethod
    def for_request(cls, method: str, path: str) -> Self:
        return cls(f"Unrecognized request URL ({_echo(method)}: {_echo(path)}).")


class MethodNotAllowedError(InvalidRequestError):
    status = 405
    code = "method_not_allowed"
    default_message = "This method is not allowed on this URL."


class PayloadTooLargeError(InvalidRequestError):
    status = 413
    code = "payload_too_large"
    default_message = "The request body is too large."


class BodyMalformedError(InvalidRequestError):
    code = "body_malformed"
    default_message = "The request body could not be parsed."


class AuthenticationError(BeyondpayError):
    status = 401
    type = "authentication_error"
    code = "api_key_invalid"
    default_message = "Invalid API key provided."
    default_headers = MappingProxyType({"WWW-Authenticate": 'Bearer realm="beyondpay"'})


class ApiKeyMissingError(AuthenticationError):
    code = "api_key_missing"
    default_message = (
        "You did not provide an API key. Send it as 'Authorization: Bearer <key>' or as the"
        " user name of HTTP Basic authentication."
    )


class PermissionDeniedError(BeyondpayError):
    status = 403
    type = "permission_error"
    code = "permission_denied"
    default_message = "The API key does not have the permission this request needs."


class IdempotencyError(BeyondpayError):
    type = "idempotency_error"
    code = "idempotency_error"
    default_message = (
        "Keys for idempotent requests can only be used with the same parameters they were"
        " first used with."
    )


class IdempotencyConflictError(IdempotencyError):
    status = 409
    code = "idempotency_key_in_use"
    default_message = (
        "There is currently another in-progress request using this idempotency key. Retry"
        " this request later."
    )


class RateLimitError(BeyondpayError):
    status = 429
    type = "rate_limit_error"
    code = "rate_limit"
    default_message = "Too many requests. Retry later with exponential backoff."


class LockTimeoutError(BeyondpayError):
    """Another request (or a job) is working on this object right now: Stripe's
    ``lock_timeout``, a 429 that its SDKs retry."""

    status = 429
    code = "lock_timeout"
    default_message = (
        "This object cannot be accessed right now because another API request or process is"
        " currently accessing it. Retry this request."
    )
    default_headers = MappingProxyType({"Stripe-Should-Retry": "true"})


class ServiceUnavailableError(BeyondpayError):
    status = 503
    type = "api_error"
    code = "service_unavailable"
    default_message = "The service is temporarily unavailable. Retry later."


class InternalError(BeyondpayError):
    """A bug or an unexpected failure. The message is fixed: details go to the log, keyed by
    the request id, never to the caller."""

    status = 500
    type = "api_error"
    code = "internal_error"
    default_message = "An unexpected error occurred. Retry later; if it persists, contact support."

    def __init__(self, *, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(headers=headers)


class PublishableKeyParameterError(InvalidRequestError):
    """A parameter a browser (a publishable key) may not send: it is the merchant's server's
    to choose (how much is captured, whether the customer is present, whose card it is)."""

    code = "parameter_not_allowed_with_publishable_key"

    @classmethod
    def for_param(cls, param: str) -> Self:
        return cls(
            f"{param} cannot be sent with a publishable key: send it from your server with a"
            " secret key.",
            param=param,
        )


class ClientSecretRequiredError(PermissionDeniedError):
    code = "client_secret_required"
    default_message = (
        "A publishable key reaches a PaymentIntent or SetupIntent only with its client_secret:"
        " send it, or use a secret key."
    )
