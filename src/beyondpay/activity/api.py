"""Event and audit-trail routes: parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.activity.schemas import (
    AuditEvent,
    AuditEventListParams,
    Event,
    EventListParams,
    audit_event_object,
)
from beyondpay.activity.service import activity_service
from beyondpay.api.access import AuditEventsReader, EventsReader, PlatformAdmin
from beyondpay.api.auth import SessionDep
from beyondpay.api.routing import Listed, Query, Router, listed
from beyondpay.events.models import event_object
from beyondpay.merchants.domain import PLATFORM_SCOPE

events_router = Router(prefix="/v1/events", tags=["events"])
audit_router = Router(tags=["audit"])

EventId = Annotated[str, Path(max_length=255, description="The event's id (`evt_…`).")]


async def _audit_events(
    session: AsyncSession, scope: str, livemode: bool, params: AuditEventListParams
) -> Listed:
    """A page of the audit trail of ``scope``: a merchant's, or ``PLATFORM_SCOPE``'s."""
    page = await activity_service.list_audit_events(session, scope, livemode, params)
    return listed(audit_event_object, page)


@events_router.get("", returns=Event)
async def list_events(
    session: SessionDep, caller: EventsReader, params: Query[EventListParams]
) -> Listed:
    """List events."""
    return listed(event_object, await activity_service.list_events(session, caller, params))


@events_router.get("/{event}", returns=Event)
async def retrieve_event(
    event: EventId, session: SessionDep, caller: EventsReader
) -> dict[str, Any]:
    """Retrieve an event."""
    return event_object(await activity_service.get_event(session, caller, event))


@audit_router.get("/v1/audit_events", returns=AuditEvent)
async def list_audit_events(
    session: SessionDep, caller: AuditEventsReader, params: Query[AuditEventListParams]
) -> Listed:
    """List audit events."""
    return await _audit_events(session, caller.merchant, caller.livemode, params)


@audit_router.get("/v1/platform/audit_events", returns=AuditEvent)
async def list_platform_audit_events(
    session: SessionDep, caller: PlatformAdmin, params: Query[AuditEventListParams]
) -> Listed:
    """List the platform administrators' audit events."""
    return await _audit_events(session, PLATFORM_SCOPE, caller.livemode, params)
