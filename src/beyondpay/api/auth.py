"""Authentication and authorization, declared per route.

``Depends(authorize(Scope.customers_write))`` resolves the key in ``Authorization`` (Bearer, or
Basic with the key as user name), applies the rate limits, and checks that this kind of key may
call this route. Every route that reads merchant data then scopes its queries by the caller's
``(merchant_id, livemode)``; an object outside that scope is a 404 identical to an unknown id.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Annotated, Final

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.session import Database
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import ApiKeyMissingError, AuthenticationError, PermissionDeniedError
from beyondpay.kit.logging import get_logger
from beyondpay.merchants.connected import connected_account_service
from beyondpay.merchants.domain import (
    Caller,
    KeyKind,
    MerchantStatus,
    Scope,
    holds_scope,
    ip_allowed,
)
from beyondpay.merchants.service import api_key_service, record_use, use_is_stale

AUTHORIZATION_CHARS_MAX: Final = 512
STRIPE_ACCOUNT_CHARS_MAX: Final = 255
_log = get_logger(__name__)


class SecretKeyRequiredError(PermissionDeniedError):
    code = "secret_key_required"
    default_message = (
        "This API call cannot be made with a publishable API key. Use a secret API key."
    )


class ScopeMissingError(PermissionDeniedError):
    code = "scope_missing"


class AccountNotActiveError(PermissionDeniedError):
    code = "account_not_active"
    default_message = (
        "Live mode keys work once the merchant's KYC is approved and the account is active."
    )

    @classmethod
    def for_merchant(cls, merchant_id: str) -> AccountNotActiveError:
        """Names what activates the account, so the refusal is also the way out of it."""
        return cls(
            f"Live mode keys of {merchant_id} work once the account is active, and it is"
            " pending KYC. Send its PAN and bank account with a test key"
            " (POST /v1/account/kyc_documents): the account becomes active when a platform admin"
            " approves both (POST /v1/platform/kyc_documents/{id}/approve). On a development or"
            f" test install, `beyondpay merchants activate {merchant_id}` activates it without a"
            " review."
        )


class AccountSuspendedError(PermissionDeniedError):
    code = "account_suspended"
    default_message = "This merchant account is suspended."


class IpNotAllowedError(PermissionDeniedError):
    code = "ip_not_allowed"
    default_message = "This API key cannot be used from this IP address."


class PlatformKeyRequiredError(PermissionDeniedError):
    code = "platform_key_required"
    default_message = "This route is for platform administrators and needs a platform-admin key."


async def request_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's session: one connection for authentication, the work and the audit."""
    database: Database = request.app.state.database
    async with database.sessionmaker() as session:
        request.state.session = session
        yield session


SessionDep = Annotated[AsyncSession, Depends(request_session)]


def key_from_header(value: str | None) -> str:
    if not value:
        raise ApiKeyMissingError()
    if len(value) > AUTHORIZATION_CHARS_MAX:
        raise AuthenticationError("Invalid Authorization header.")
    scheme, _, credentials = value.partition(" ")
    scheme = scheme.lower()
    credentials = credentials.strip()
    if scheme == "bearer" and credentials:
        return credentials
    if scheme == "basic" and credentials:
        try:
            decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthenticationError("Invalid HTTP Basic credentials.") from None
        user, _, _password = decoded.partition(":")
        if user:
            return user
    raise AuthenticationError(
        "Invalid Authorization header: send 'Bearer <key>' or HTTP Basic with the key as user."
    )


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def check_access(caller: Caller, scope: Scope | None, *, publishable: bool, platform: bool) -> None:
    """Raises the 403 this caller gets on a route needing ``scope``; returns if allowed."""
    if platform:
        if caller.kind is not KeyKind.admin:
            raise PlatformKeyRequiredError()
        return
    if caller.kind is KeyKind.admin:
        raise PermissionDeniedError("A platform-admin key cannot call merchant routes.")
    if caller.merchant_status is MerchantStatus.suspended:
        raise AccountSuspendedError()
    if caller.livemode and caller.merchant_status is not MerchantStatus.active:
        raise AccountNotActiveError.for_merchant(caller.merchant)
    if caller.kind is KeyKind.publishable and not publishable:
        raise SecretKeyRequiredError()
    if caller.kind is KeyKind.restricted and (
        scope is None or not holds_scope(caller.scopes, scope)
    ):
        needed = scope.value if scope else "a secret key"
        raise ScopeMissingError(
            f"The provided key does not have the required permissions for this endpoint:"
            f" it needs {needed}."
        )


# Background writes of last_used_at, one per key at a time in this process; strong references
# keep the tasks alive until they finish.
_USE_WRITES: dict[str, asyncio.Task[None]] = {}
# When this process last wrote each key's last_used_at: a cached caller carries the value read
# before that write, which alone would make every request look due for another one.
_USES_RECORDED: dict[str, datetime] = {}
USES_RECORDED_KEYS_MAX: Final = 10_000


def _record_use_later(request: Request, caller: Caller) -> None:
    now = utcnow()
    last_used_at = caller.last_used_at
    recorded = _USES_RECORDED.get(caller.key_id)
    if recorded is not None and (last_used_at is None or recorded > last_used_at):
        last_used_at = recorded
    if not use_is_stale(last_used_at, now) or caller.key_id in _USE_WRITES:
        return
    if len(_USES_RECORDED) >= USES_RECORDED_KEYS_MAX:
        _USES_RECORDED.clear()
    _USES_RECORDED[caller.key_id] = now
    database: Database = request.app.state.database

    async def write() -> None:
        try:
            async with database.unit_of_work() as session:
                await record_use(session, caller.key_id, now)
        except Exception as exc:  # a missed last_used_at must never fail or slow a request
            _log.warning("api_key_use_not_recorded", error_type=type(exc).__name__)
        finally:
            _USE_WRITES.pop(caller.key_id, None)

    _USE_WRITES[caller.key_id] = asyncio.create_task(write())


def authorize(
    scope: Scope | None = None, *, publishable: bool = False, platform: bool = False
) -> Callable[..., Awaitable[Caller]]:
    """A dependency giving the caller of a route that needs ``scope`` (None: secret keys only,
    or platform-admin keys with ``platform``). ``publishable`` lets browser keys in."""

    async def dependency(request: Request, session: SessionDep) -> Caller:
        ip = client_ip(request)
        limiter = getattr(request.app.state, "rate_limiter", None)
        if limiter is not None:
            await limiter.check_ip(ip)
        text = key_from_header(request.headers.get("authorization"))
        caller = await api_key_service.authenticate(session, request.app.state.key_ring, text)
        _record_use_later(request, caller)
        if not ip_allowed(ip, caller.allowed_ips):
            raise IpNotAllowedError()
        if limiter is not None:
            await limiter.check_key(caller)
        acting_as = request.headers.get("stripe-account", "").strip()
        if acting_as:
            # Connect: a platform's key acts as one of its connected accounts; idempotency keys
            # and every query are then the connected account's (Caller.merchant_id).
            caller = await connected_account_service.acting_as(
                session, caller, acting_as[:STRIPE_ACCOUNT_CHARS_MAX]
            )
        request.state.caller = caller
        check_access(caller, scope, publishable=publishable, platform=platform)
        return caller

    dependency.__beyondpay_access__ = {  # type: ignore[attr-defined]
        "scope": scope.value if scope else None,
        "publishable": publishable,
        "platform": platform,
    }
    return dependency
