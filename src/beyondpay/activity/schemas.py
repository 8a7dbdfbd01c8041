"""The objects of the activity routes: events in Stripe's shape, audit events, their params."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, Field

from beyondpay.audit.models import AuditEventRow
from beyondpay.db.pagination import ListParams

EVENT_TYPE_CHARS_MAX: Final = 100
EVENT_TYPES_MAX: Final = 20  # Stripe's limit on ``types``
SEQUENCE_MAX: Final = 2**63 - 1

EventType = Annotated[str, Field(min_length=1, max_length=EVENT_TYPE_CHARS_MAX)]


class EventListParams(ListParams):
    type: EventType | None = Field(
        default=None,
        description="An event type, or a group of them with `*` as the last part (`customer.*`).",
    )
    types: list[EventType] | None = Field(default=None, max_length=EVENT_TYPES_MAX)
    after_sequence: int | None = Field(
        default=None,
        ge=0,
        le=SEQUENCE_MAX,
        description="Numbered events after this sequence number, oldest first.",
    )


class EventData(BaseModel):
    object: dict[str, Any]
    previous_attributes: dict[str, Any] | None = None


class EventRequest(BaseModel):
    id: str | None
    idempotency_key: str | None


class Event(BaseModel):
    id: str
    object: Literal["event"]
    api_version: str
    created: int
    data: EventData
    livemode: bool
    pending_webhooks: int
    request: EventRequest
    type: str
    sequence: int | None


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
