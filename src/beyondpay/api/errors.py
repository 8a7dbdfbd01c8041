"""One handler renders every error into Stripe's envelope.

``{"error": {"type", "code", "message", "param"}}`` with Stripe's status codes, for our typed
errors, FastAPI's validation errors, malformed bodies, unknown routes and methods, and (as a 500
that says nothing of its cause) anything unexpected, which is a bug and is logged as one.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from beyondpay.api.params import plain_message
from beyondpay.kit.errors import (
    BeyondpayError,
    BodyMalformedError,
    InternalError,
    InvalidRequestError,
    MethodNotAllowedError,
    ParameterMissingError,
    PayloadTooLargeError,
    RouteNotFoundError,
    ServiceUnavailableError,
)
from beyondpay.kit.logging import get_logger

_log = get_logger(__name__)


def error_response(error: BeyondpayError) -> Response:
    return Response(
        orjson.dumps(error.to_dict()),
        status_code=error.status,
        headers=error.headers,
        media_type="application/json",
    )


def _param_from_location(location: tuple[Any, ...] | list[Any]) -> str | None:
    """FastAPI's ("body", "metadata", "k") becomes Stripe's ``metadata[k]``."""
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    if not parts:
        return None
    return parts[0] + "".join(f"[{part}]" for part in parts[1:])


def validation_error(exc: RequestValidationError) -> BeyondpayError:
    first = exc.errors()[0] if exc.errors() else {}
    kind = str(first.get("type", ""))
    if kind in ("json_invalid", "json_type"):
        return BodyMalformedError("The request body could not be parsed as JSON.")
    param = _param_from_location(first.get("loc", ()))
    if kind == "missing":
        return ParameterMissingError(f"Missing required param: {param}.", param=param)
    # Pydantic's message describes the constraint; the input value is deliberately left out.
    detail = plain_message(str(first.get("msg", "is invalid")))
    return InvalidRequestError(f"Invalid {param}: {detail}", param=param)


def http_error(request: Request, exc: StarletteHTTPException) -> BeyondpayError:
    if exc.status_code == 404:
        return RouteNotFoundError(
            f"Unrecognized request URL ({request.method}: {request.url.path})."
        )
    if exc.status_code == 405:
        return MethodNotAllowedError(
            f"The method {request.method} is not allowed on {request.url.path}."
        )
    if exc.status_code == 413:
        return PayloadTooLargeError("The request body is too large.")
    if exc.status_code == 400:
        return BodyMalformedError(str(exc.detail))
    return InvalidRequestError(str(exc.detail))


def install_error_handlers(app: FastAPI) -> None:
    """Every error becomes the envelope; a refused mutating request of an authenticated caller
    is also audited (``api.auditing``)."""
    from beyondpay.api.auditing import audit_refusal

    async def render(request: Request, error: BeyondpayError) -> Response:
        await audit_refusal(request, error.status, error.code)
        return error_response(error)

    @app.exception_handler(BeyondpayError)
    async def _typed(request: Request, exc: BeyondpayError) -> Response:
        return await render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        return await render(request, validation_error(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return await render(request, http_error(request, exc))

    @app.exception_handler(SQLAlchemyTimeoutError)
    async def _pool_exhausted(request: Request, exc: SQLAlchemyTimeoutError) -> Response:
        # Every pooled connection stayed busy past the pool's timeout: overload, not a bug.
        # Nothing ran (the request never got a connection), so a retry is safe.
        _log.warning("database_pool_exhausted", route=request.url.path, method=request.method)
        return error_response(
            ServiceUnavailableError(
                "The service is overloaded. Retry later with the same idempotency key.",
                headers={"Retry-After": "1", "Stripe-Should-Retry": "true"},
            )
        )

    @app.exception_handler(DBAPIError)
    async def _database_refused(request: Request, exc: DBAPIError) -> Response:
        # An overloaded or restarting database is a 503 the client retries, not a bug; any
        # other database error stays the 500 the middleware renders.
        if not _database_unreachable(exc):
            raise exc
        _log.warning("database_unreachable", route=request.url.path, method=request.method)
        return error_response(
            ServiceUnavailableError(
                "The database is not accepting connections. Retry later with the same"
                " idempotency key.",
                headers={"Retry-After": "1", "Stripe-Should-Retry": "true"},
            )
        )


def _database_unreachable(exc: BaseException) -> bool:
    """The database refused or could not open a connection (too many clients, starting up,
    down). SQLAlchemy raises such an error with no statement: nothing ran on it, so nothing
    was done and a retry with the same idempotency key is safe."""
    return isinstance(exc, DBAPIError) and exc.statement is None


def internal_error_body() -> bytes:
    """The body of a 500: it names no cause, which could carry data, only the request id."""
    return orjson.dumps(InternalError().to_dict())


def log_unexpected(method: str, path: str, exc: BaseException) -> None:
    _log.error(
        "unhandled_error", route=path, method=method, error_type=type(exc).__name__, exc_info=exc
    )
