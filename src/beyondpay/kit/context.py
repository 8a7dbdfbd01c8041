"""What the current request is, for code below the API that records it (events name the
request that caused them, as Stripe's ``event.request`` does).

The API's edge sets the request id and the mutation runner the idempotency key; a job or a
script outside any request leaves both unset (``None``).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class RequestContext:
    id: str | None = None
    idempotency_key: str | None = None


NO_REQUEST = RequestContext()
request_context: ContextVar[RequestContext] = ContextVar(
    "beyondpay_request_context", default=NO_REQUEST
)


def current_request() -> RequestContext:
    return request_context.get()


def set_idempotency_key(key: str | None) -> None:
    """Names the idempotency key of the request being served (the id stays as set)."""
    request_context.set(replace(request_context.get(), idempotency_key=key))
