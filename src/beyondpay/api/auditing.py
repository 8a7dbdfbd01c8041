"""The audit record of an authenticated mutating request, from the request's own facts."""

from __future__ import annotations

import ipaddress
from typing import Final

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.audit.service import AuditRecord, audit_service
from beyondpay.db.session import Database
from beyondpay.kit.logging import get_logger
from beyondpay.merchants.domain import PLATFORM_SCOPE, Caller

MUTATING_METHODS: Final = frozenset({"POST", "DELETE", "PUT", "PATCH"})
_log = get_logger(__name__)


def route_template(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else request.url.path


def peer_ip(request: Request) -> str | None:
    """The peer's IP address, or None when the server names the peer otherwise (a test client,
    a Unix socket): the audit trail's column holds only addresses."""
    host = request.client.host if request.client else None
    if not host:
        return None
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


async def audit(
    session: AsyncSession,
    request: Request,
    caller: Caller,
    status: int,
    *,
    object_id: object = None,
    error_code: str | None = None,
) -> None:
    """Appends the record in ``session``'s transaction and marks the request audited."""
    request.state.audited = True
    await audit_service.append(
        session, audit_record(request, caller, status, object_id, error_code)
    )


def audit_record(
    request: Request,
    caller: Caller,
    status: int,
    object_id: object = None,
    error_code: str | None = None,
) -> AuditRecord:
    return AuditRecord(
        # A platform admin's actions form the platform's own trail.
        merchant_id=caller.merchant_id or PLATFORM_SCOPE,
        livemode=caller.livemode,
        api_key_id=caller.key_id,
        ip=peer_ip(request),
        method=request.method,
        route=route_template(request),
        object_id=object_id if isinstance(object_id, str) else None,
        status=status,
        error_code=error_code,
        request_id=request.state.request_id,
    )


async def audit_refusal(request: Request, status: int, error_code: str) -> None:
    """A mutating request refused before it ran (bad parameters, missing scope, 409, 429) is
    audited in a transaction of its own. Unauthenticated requests have no merchant to audit."""
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is None or request.method not in MUTATING_METHODS:
        return
    if getattr(request.state, "audited", False):
        return
    database: Database = request.app.state.database
    try:
        async with database.unit_of_work() as session:
            await audit(session, request, caller, status, error_code=error_code)
    except Exception as exc:  # the refusal stands even if its record cannot be written
        _log.error("audit_write_failed", error_type=type(exc).__name__)
