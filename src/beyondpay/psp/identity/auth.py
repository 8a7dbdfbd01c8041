"""Who is calling a PSP route: a payer's session, not a merchant's key.

``PayerDep`` resolves ``Authorization: Bearer pst_…`` to a :class:`PayerContext`. Its
``caller`` is a :class:`~beyondpay.merchants.domain.Caller` of kind ``payer`` with the payer's id
where a merchant key has the merchant's, so ``api.mutation.run_mutation`` keeps a payer's
idempotency keys and audit records in the payer's own scope, exactly as for merchant routes.
A route takes ``Payer``: the payer with the request's database session and the key ring.

The routes that come before a session (OTP, sign-up, login, refresh) have no payer yet:
:func:`public_caller` scopes them by a keyed fingerprint of the credential the request presents
(the mobile number and OTP, the refresh token), so an idempotent answer (which holds tokens,
and is sealed) is replayed only to a request presenting the same credential.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Annotated, Any, Final, cast

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.api.auth import SessionDep, client_ip
from beyondpay.api.routing import Body, RingDep
from beyondpay.kit.crypto import KeyRing
from beyondpay.merchants.domain import Caller, KeyKind
from beyondpay.psp.identity.domain import PayerContext
from beyondpay.psp.identity.errors import SessionInvalidError
from beyondpay.psp.identity.schemas import CredentialParams
from beyondpay.psp.identity.service import PSP_LIVEMODE, session_service

# PayerContext lives in psp.identity.domain (use cases take it as plain data); routes name it
# from here beside PayerDep.
__all__ = [
    "AUTHORIZATION_CHARS_MAX",
    "PUBLIC_KEY_ID",
    "Payer",
    "PayerCall",
    "PayerContext",
    "PayerDep",
    "before_a_session",
    "payer_call",
    "payer_caller",
    "payer_session",
    "public_caller",
]

ACCESS_PUBLIC: Final = "payer: none (before a session)"

AUTHORIZATION_CHARS_MAX: Final = 512
# The key id of requests made before any session exists (sign-up, login, refresh).
PUBLIC_KEY_ID: Final = "psp_public"


def payer_caller(payer_id: str, session_id: str) -> Caller:
    return Caller(
        key_id=session_id,
        kind=KeyKind.payer,
        livemode=PSP_LIVEMODE,
        merchant_id=payer_id,
        merchant_status=None,
    )


def public_caller(ring: KeyRing, credential: str) -> Caller:
    """The caller of a request made before a session: scoped by the credential it presents."""
    scope = "psp_" + ring.fingerprint(f"psp-public-scope:{credential}").hex()[:40]
    return Caller(
        key_id=PUBLIC_KEY_ID,
        kind=KeyKind.payer,
        livemode=PSP_LIVEMODE,
        merchant_id=scope,
        merchant_status=None,
    )


@functools.cache
def before_a_session(model: type[CredentialParams]) -> Any:
    """``Annotated[Caller, before_a_session(Model)]``: the caller of a route before any session,
    scoped by the credential its parameters present. The router reads the route's access
    (public) from it, as it reads a payer's from their session."""

    async def caller(ring: KeyRing, params: CredentialParams) -> Caller:
        return public_caller(ring, params.presents())

    # The parameters' model is this call's: FastAPI reads it from the signature.
    caller.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            inspect.Parameter("ring", inspect.Parameter.KEYWORD_ONLY, annotation=RingDep),
            inspect.Parameter(
                "params", inspect.Parameter.KEYWORD_ONLY, annotation=cast(Any, Body)[model]
            ),
        ],
        return_annotation=Caller,
    )
    caller.__name__ = f"{model.__name__}_caller"
    caller.__beyondpay_access__ = {"label": ACCESS_PUBLIC}  # type: ignore[attr-defined]
    return Depends(caller)


def _bearer(value: str | None) -> str:
    if not value or len(value) > AUTHORIZATION_CHARS_MAX:
        raise SessionInvalidError()
    scheme, _, credentials = value.partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise SessionInvalidError()
    return credentials.strip()


async def payer_session(request: Request, session: SessionDep) -> PayerContext:
    """The payer calling: a live session's access token, else 401."""
    limiter = getattr(request.app.state, "rate_limiter", None)
    if limiter is not None:
        await limiter.check_ip(client_ip(request))
    token = _bearer(request.headers.get("authorization"))
    ring: KeyRing = request.app.state.key_ring
    row = await session_service.authenticate(session, ring, token)
    caller = payer_caller(row.payer_id, row.id)
    request.state.caller = caller
    if limiter is not None:
        await limiter.check_key(caller)
    return PayerContext(
        payer_id=row.payer_id, session_id=row.id, device_id=row.device_id, caller=caller
    )


# The router reads a route's access from its dependencies: a route taking PayerDep is a payer's.
payer_session.__beyondpay_access__ = {"label": "payer"}  # type: ignore[attr-defined]

PayerDep = Annotated[PayerContext, Depends(payer_session)]


@dataclass(frozen=True, slots=True)
class PayerCall:
    """What a payer's route works with, in one parameter: the request's database session, the
    key ring and the payer calling (every payer route needed the three side by side)."""

    session: AsyncSession
    ring: KeyRing
    context: PayerContext

    @property
    def id(self) -> str:
        return self.context.payer_id

    @property
    def device_id(self) -> str | None:
        return self.context.device_id


async def payer_call(request: Request, session: SessionDep, payer: PayerDep) -> PayerCall:
    # The request's session: FastAPI solves SessionDep once per request, so the route's mutation
    # runs in this same session.
    ring: KeyRing = request.app.state.key_ring
    return PayerCall(session, ring, payer)


Payer = Annotated[PayerCall, Depends(payer_call)]
