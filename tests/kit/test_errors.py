from typing import Any

import pytest

from beyondpay.kit.errors import (
    ECHO_CHARS_MAX,
    ApiKeyMissingError,
    AuthenticationError,
    BeyondpayError,
    BodyMalformedError,
    IdempotencyConflictError,
    IdempotencyError,
    InternalError,
    InvalidRequestError,
    MethodNotAllowedError,
    ParameterInvalidEmptyError,
    ParameterInvalidIntegerError,
    ParameterInvalidStringError,
    ParameterMissingError,
    ParameterUnknownError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ResourceMissingError,
    RouteNotFoundError,
    ServiceUnavailableError,
)

STRIPE_TYPES = {
    "api_error",
    "card_error",
    "idempotency_error",
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "rate_limit_error",
}


@pytest.mark.parametrize(
    ("error_class", "status", "type_", "code"),
    [
        (InvalidRequestError, 400, "invalid_request_error", "parameter_invalid"),
        (ParameterMissingError, 400, "invalid_request_error", "parameter_missing"),
        (ParameterUnknownError, 400, "invalid_request_error", "parameter_unknown"),
        (ParameterInvalidIntegerError, 400, "invalid_request_error", "parameter_invalid_integer"),
        (ParameterInvalidStringError, 400, "invalid_request_error", "parameter_invalid_string"),
        (ParameterInvalidEmptyError, 400, "invalid_request_error", "parameter_invalid_empty"),
        (ResourceMissingError, 404, "invalid_request_error", "resource_missing"),
        (RouteNotFoundError, 404, "invalid_request_error", "route_not_found"),
        (MethodNotAllowedError, 405, "invalid_request_error", "method_not_allowed"),
        (PayloadTooLargeError, 413, "invalid_request_error", "payload_too_large"),
        (BodyMalformedError, 400, "invalid_request_error", "body_malformed"),
        (AuthenticationError, 401, "authentication_error", "api_key_invalid"),
        (ApiKeyMissingError, 401, "authentication_error", "api_key_missing"),
        (PermissionDeniedError, 403, "permission_error", "permission_denied"),
        (IdempotencyError, 400, "idempotency_error", "idempotency_error"),
        (IdempotencyConflictError, 409, "idempotency_error", "idempotency_key_in_use"),
        (RateLimitError, 429, "rate_limit_error", "rate_limit"),
        (ServiceUnavailableError, 503, "api_error", "service_unavailable"),
        (InternalError, 500, "api_error", "internal_error"),
    ],
)
def test_stable_codes_statuses_and_types(
    error_class: type[BeyondpayError], status: int, type_: str, code: str
) -> None:
    error = error_class()
    assert (error.status, error.type, error.code) == (status, type_, code)
    assert type_ in STRIPE_TYPES
    assert error.message
    assert error.to_dict() == {"error": {"type": type_, "code": code, "message": error.message}}


def test_envelope_includes_param_and_decline_code_when_present() -> None:
    error = InvalidRequestError("Amount must be positive.", param="amount", decline_code="x")
    assert error.to_dict() == {
        "error": {
            "type": "invalid_request_error",
            "code": "parameter_invalid",
            "message": "Amount must be positive.",
            "param": "amount",
            "decline_code": "x",
        }
    }
    assert str(error) == "Amount must be positive."


def test_resource_missing_message_matches_stripe() -> None:
    error = ResourceMissingError.for_object("customer", "cus_x")
    assert error.message == "No such customer: 'cus_x'"
    assert error.param == "id"
    assert ResourceMissingError.for_object("payment_method", "pm_x", param="payment_method").param
    assert ResourceMissingError.for_object("customer", "cus_x", param=None).param is None


def test_parameter_error_messages_name_the_parameter() -> None:
    assert ParameterMissingError.for_param("amount").message == "Missing required param: amount."
    assert ParameterMissingError.for_param("amount").param == "amount"
    assert ParameterUnknownError.for_param("colour").message == (
        "Received unknown parameter: colour"
    )
    assert ParameterInvalidIntegerError.for_param("amount", "ten").message == (
        "Invalid integer: ten"
    )
    assert "'description'" in ParameterInvalidEmptyError.for_param("description").message


def test_string_errors_do_not_echo_the_value() -> None:
    error = ParameterInvalidStringError.for_param("name")
    assert error.param == "name"
    assert error.message == "Invalid string for parameter: name"


def test_echoed_input_is_shortened() -> None:
    error = ResourceMissingError.for_object("customer", "c" * 10_000)
    assert len(error.message) < ECHO_CHARS_MAX + 40


def test_route_not_found_names_method_and_path() -> None:
    error = RouteNotFoundError.for_request("GET", "/v1/foo")
    assert error.message == "Unrecognized request URL (GET: /v1/foo)."


def test_authentication_errors_carry_www_authenticate() -> None:
    assert AuthenticationError().headers == {"WWW-Authenticate": 'Bearer realm="beyondpay"'}
    merged = ApiKeyMissingError(headers={"Request-Id": "req_1"}).headers
    assert merged == {"WWW-Authenticate": 'Bearer realm="beyondpay"', "Request-Id": "req_1"}


def test_headers_are_none_when_absent() -> None:
    assert RateLimitError().headers is None
    assert RateLimitError(headers={"Retry-After": "1"}).headers == {"Retry-After": "1"}


def test_internal_error_message_is_fixed() -> None:
    error = InternalError()
    assert error.message == InternalError.default_message
    make_error: Any = InternalError  # Any: the signature already refuses a message statically
    with pytest.raises(TypeError):
        make_error("database password is hunter2")


def test_base_class_without_code_cannot_be_raised() -> None:
    with pytest.raises(TypeError):
        BeyondpayError("no code")


def test_errors_are_exceptions_and_catchable_by_base() -> None:
    with pytest.raises(BeyondpayError):
        raise ParameterMissingError.for_param("amount")
    assert issubclass(IdempotencyConflictError, IdempotencyError)
