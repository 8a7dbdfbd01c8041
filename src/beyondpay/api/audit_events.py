"""``GET /v1/audit_events``: a merchant reads its own audit trail (newest first); platform
administrators read theirs at ``GET /v1/platform/audit_events``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from beyondpay.api.auth import SessionDep, authorize
from beyondpay.api.expand import refuse_expansions
from beyondpay.api.lists import ListParams, created_conditions, list_object, list_of, page, scoped
from beyondpay.api.openapi import operation
from beyondpay.api.params import query
from beyondpay.api.responses import json_response
from beyondpay.audit.models import AuditEventRow
from beyondpay.merchants.domain import PLATFORM_SCOPE, Caller, Scope

router = APIRouter(tags=["audit"])


class AuditEventListParams(ListParams):
    api_key: str | None = Field(default=None, max_length=255)
    object_id: str | None = Field(default=None, max_length=255)


class AuditEvent(BaseModel):
    id: str
    object: Literal["audit_event"]
    api_key: str | None
    created: int
    ip: str | None
    livemode: bool
    method: str
    object_id: str | None
    request_id: str
    route: str
    status: int
    error_code: str | None


def audit_event_object(row: AuditEventRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "audit_event",
        "api_key": row.api_key_id,
        "created": int(row.created_at.timestamp()),
        "ip": str(row.ip) if row.ip is not None else None,
        "livemode": row.livemode,
        "method": row.method,
        "object_id": row.object_id,
        "request_id": row.request_id,
        "route": row.route,
        "status": row.status,
        "error_code": row.error_code,
    }


@router.get(
    "/v1/audit_events",
    summary="List audit events",
    **operation(
        query=AuditEventListParams, returns=list_of(AuditEvent), access="audit_events:read"
    ),
)
async def list_audit_events(
    request: Request,
    session: SessionDep,
    caller: Annotated[Caller, Depends(authorize(Scope.audit_events_read))],
    params: Annotated[AuditEventListParams, Depends(query(AuditEventListParams))],
) -> Response:
    return await _listing(request, session, caller.merchant, caller.livemode, params)


@router.get(
    "/v1/platform/audit_events",
    summary="List the platform administrators' audit events",
    **operation(query=AuditEventListParams, returns=list_of(AuditEvent), access="platform admin"),
)
async def list_platform_audit_events(
    request: Request,
    session: SessionDep,
    caller: Annotated[Caller, Depends(authorize(platform=True))],
    params: Annotated[AuditEventListParams, Depends(query(AuditEventListParams))],
) -> Response:
    return await _listing(request, session, PLATFORM_SCOPE, caller.livemode, params)


async def _listing(
    request: Request,
    session: AsyncSession,
    merchant_id: str,
    livemode: bool,
    params: AuditEventListParams,
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    conditions: list[Any] = created_conditions(AuditEventRow.created_at, params.created)
    if params.api_key is not None:
        conditions.append(AuditEventRow.api_key_id == params.api_key)
    if params.object_id is not None:
        conditions.append(AuditEventRow.object_id == params.object_id)

    def cursor_exists(cursor: str) -> Any:
        return select(AuditEventRow.id).where(
            AuditEventRow.id == cursor,
            AuditEventRow.merchant_id == merchant_id,
            AuditEventRow.livemode == livemode,
        )

    rows: Sequence[AuditEventRow]
    rows, has_more = await page(
        session,
        scoped(AuditEventRow, merchant_id, livemode, *conditions),
        AuditEventRow.id,
        params,
        cursor_exists=cursor_exists,
        object_name="audit_event",
    )
    return json_response(
        list_object(request.url.path, [audit_event_object(row) for row in rows], has_more)
    )
