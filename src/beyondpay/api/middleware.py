"""The edge of every request, as one pure ASGI middleware (no per-request task overhead).

It gives each request its ``Request-Id`` (a caller's own, if well-formed), binds it to the logs,
refuses bodies over ``BODY_BYTES_MAX`` with a 413 in the error envelope and paths holding a NUL
character (which no route takes) with a 404, records RED metrics per route template, turns
an exception that escaped every handler into a 500 envelope, and writes one log line per
request (:func:`_log_request`).
"""

from __future__ import annotations

import re
import time
from typing import Any, Final

import orjson
import structlog
from fastapi import HTTPException
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from beyondpay.api.errors import internal_error_body, log_unexpected
from beyondpay.kit.context import RequestContext, request_context
from beyondpay.kit.errors import PayloadTooLargeError, RouteNotFoundError
from beyondpay.kit.ids import new_id
from beyondpay.merchants.domain import Caller, KeyKind

BODY_BYTES_MAX: Final = 1024 * 1024
REQUEST_ID_LENGTH_MAX: Final = 100
VERSION_CHARS_MAX: Final = 64
_REQUEST_ID = re.compile(rf"^[A-Za-z0-9_.:-]{{1,{REQUEST_ID_LENGTH_MAX}}}$")
_log = structlog.get_logger("beyondpay.request")
_PAYER_ID_PREFIX: Final = "pyr_"

REQUESTS = Counter("beyondpay_http_requests_total", "HTTP requests", ["method", "route", "status"])
REQUEST_ERRORS = Counter(
    "beyondpay_http_request_errors_total", "HTTP responses with status >= 500", ["method", "route"]
)
REQUEST_DURATION = Histogram(
    "beyondpay_http_request_duration_seconds",
    "HTTP request duration",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


_TOO_LARGE_BODY: Final = orjson.dumps(
    PayloadTooLargeError(f"The request body exceeds {BODY_BYTES_MAX} bytes.").to_dict()
)


# No route takes a NUL character in its path (PostgreSQL's text cannot even hold one).
_NUL_IN_PATH: Final = orjson.dumps(
    RouteNotFoundError("Unrecognized request URL: the path contains a NUL character.").to_dict()
)


class _BodyTooLarge(HTTPException):
    """An HTTPException, so FastAPI's body reader lets it through as a 413 (not a 400)."""

    def __init__(self) -> None:
        super().__init__(status_code=413)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class EdgeMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        offered = (_header(scope, b"request-id") or b"").decode("latin-1")
        request_id = offered if _REQUEST_ID.match(offered) else new_id("req")
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        # Events recorded while serving this request name it (``event.request.id``).
        context_token = request_context.set(RequestContext(id=request_id))
        started = time.perf_counter()
        status = {"code": 500, "started": False}
        # Stripe-Version is accepted and echoed; objects have one shape whatever it says.
        version = _header(scope, b"stripe-version")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["started"] = True
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"request-id"]
                headers.append((b"request-id", request_id.encode("latin-1")))
                if version is not None and len(version) <= VERSION_CHARS_MAX:
                    headers.append((b"stripe-version", version))
                message = {**message, "headers": headers}
            await send(message)

        try:
            declared = _header(scope, b"content-length")
            if declared is not None and declared.isdigit() and int(declared) > BODY_BYTES_MAX:
                await self._reply(send_with_id, 413, _TOO_LARGE_BODY)
                return
            if "\x00" in scope["path"]:
                await self._reply(send_with_id, 404, _NUL_IN_PATH)
                return
            await self.app(scope, _limited(receive), send_with_id)
        except _BodyTooLarge:
            if not status["started"]:
                await self._reply(send_with_id, 413, _TOO_LARGE_BODY)
        except Exception as exc:  # every error becomes the envelope, never a bare traceback
            log_unexpected(scope["method"], scope["path"], exc)
            if not status["started"]:
                await self._reply(send_with_id, 500, internal_error_body())
        finally:
            duration_s = time.perf_counter() - started
            route = _route_template(scope)
            code = int(status["code"])
            REQUESTS.labels(scope["method"], route, str(code)).inc()
            if code >= 500:
                REQUEST_ERRORS.labels(scope["method"], route).inc()
            REQUEST_DURATION.labels(scope["method"], route).observe(duration_s)
            _log_request(scope, route, code, duration_s)
            structlog.contextvars.unbind_contextvars("request_id")
            request_context.reset(context_token)

    @staticmethod
    async def _reply(send: Send, status: int, body: bytes) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _log_request(scope: Scope, route: str, status: int, duration_s: float) -> None:
    """One line per request (the request id comes with the bound context). The route's
    template, never the path or the query: those hold ids and, on some routes, a mobile number
    or a VPA; nothing of the body or the headers, so no key or card can reach it. The caller is
    who the route authenticated (``request.state.caller``), absent before authentication."""
    caller = scope.get("state", {}).get("caller")
    who: dict[str, str | bool | None] = {}
    if isinstance(caller, Caller) and caller.kind is not KeyKind.payer:
        who = {"merchant": caller.merchant_id, "livemode": caller.livemode}
    elif isinstance(caller, Caller) and (caller.merchant_id or "").startswith(_PAYER_ID_PREFIX):
        # A payer's session; before one, the PSP scopes a caller by a keyed fingerprint of the
        # credential it presents (a mobile number), which is not logged.
        who = {"payer": caller.merchant_id}
    _log.info(
        "request",
        method=scope["method"],
        route=route,
        status=status,
        duration_ms=round(duration_s * 1000, 2),
        **who,
    )


def _limited(receive: Receive) -> Receive:
    received = 0

    async def receive_limited() -> Message:
        nonlocal received
        message: Any = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > BODY_BYTES_MAX:
                raise _BodyTooLarge
        return message  # type: ignore[no-any-return]

    return receive_limited
