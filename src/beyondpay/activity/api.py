"""Event and audit-trail routes: parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from starlette.responses import Response

from beyondpay.activity.schemas import (
    AuditEvent,
    AuditEventListParams,
    Event,
    EventListParams,
    EventRetrieveParams,
    audit_event_object,
)
from beyondpay.activity.service import activity_service
from beyondpay.api.auth import SessionDep, authorize
from beyondpay.api.lists import list_object, list_of
from beyondpay.api.responses import json_response
from beyondpay.api.routing import Query, Router
from beyondpay.events.models import event_object
from beyondpay.merchants.domain import PLATFORM_SCOPE, Caller, Scope

events_router = Router(prefix="/v1/events", tags=["events"])
audit_router = Router(tags=["audit"])

EventReader = Annotated[Caller, Depends(authorize(Scope.events_read))]
AuditReader = Annotated[Caller, Depends(authorize(Scope.audit_events_read))]
PlatformAdmin = Annotated[Caller, Depends(authorize(platform=True))]
EventId = Annotated[str, Path(max_length=255, description="The event's id (`evt_…`).")]
EventList = list_of(Event)
AuditEventList = list_of(AuditEvent)


@events_router.get("", summary="List events", returns=EventList)
async def list_events(
    request: Request, session: SessionDep, caller: EventReader, params: Query[EventListParams]
) -> Response:
    rows, has_more = await activity_service.list_events(session, caller, params)
    data = [event_object(row) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))


@events_router.get("/{event}", summary="Retrieve an event", returns=Event)
async def retrieve_event(
    event: EventId, session: SessionDep, caller: EventReader, _: Query[EventRetrieveParams]
) -> Response:
    return json_response(event_object(await activity_service.get_event(session, caller, event)))


@audit_router.get("/v1/audit_events", summary="List audit events", returns=AuditEventList)
async def list_audit_events(
    request: Request, session: SessionDep, caller: AuditReader, params: Query[AuditEventListParams]
) -> Response:
    rows, has_more = await activity_service.list_audit_events(
        session, caller.merchant, caller.livemode, params
    )
    data = [audit_event_object(row) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))


@audit_router.get(
    "/v1/platform/audit_events",
    summary="List the platform administrators' audit events",
    returns=AuditEventList,
)
async def list_platform_audit_events(
    request: Request,
    session: SessionDep,
    caller: PlatformAdmin,
    params: Query[AuditEventListParams],
) -> Response:
    rows, has_more = await activity_service.list_audit_events(
        session, PLATFORM_SCOPE, caller.livemode, params
    )
    data = [audit_event_object(row) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))
