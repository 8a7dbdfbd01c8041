"""``GET /v1/events`` and ``GET /v1/events/{id}``: the merchant's events, in Stripe's shape.

Listed newest first with Stripe's cursors, or, with ``after_sequence=N``, oldest first by
``sequence``: the numbered events after ``N``, for a consumer that keeps its place by number.
An event is numbered right after its transaction commits, when the worker runs
(``events.tasks``), so it is readable by ``after_sequence`` from then on; numbers are gap-free
and never appear out of order, so a consumer that always asks for what follows the last number
it read never misses an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Final, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field
from sqlalchemy import select
from starlette.responses import Response

from beyondpay.api.auth import SessionDep, authorize
from beyondpay.api.expand import refuse_expansions
from beyondpay.api.lists import ListParams, created_conditions, list_object, list_of, page, scoped
from beyondpay.api.openapi import operation
from beyondpay.api.params import Params, query
from beyondpay.api.responses import json_response
from beyondpay.events.models import EventRow, event_object
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.merchants.domain import Caller, Scope

router = APIRouter(prefix="/v1/events", tags=["events"])

EVENT_TYPE_CHARS_MAX: Final = 100
EVENT_TYPES_MAX: Final = 20  # Stripe's limit on ``types``
SEQUENCE_MAX: Final = 2**63 - 1
WILDCARD: Final = "*"

Reader = Annotated[Caller, Depends(authorize(Scope.events_read))]
EventId = Annotated[str, Path(max_length=255, description="The event's id (`evt_…`).")]

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


class EventRetrieveParams(Params):
    expand: list[str] = Field(default_factory=list, max_length=20)


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


def _type_condition(event_type: str) -> Any:
    """``customer.created`` exactly, or ``customer.*``: every type under ``customer.``."""
    if WILDCARD not in event_type:
        return EventRow.type == event_type
    prefix = event_type[: -len(WILDCARD)]
    if not event_type.endswith(WILDCARD) or WILDCARD in prefix or (prefix and prefix[-1] != "."):
        raise InvalidRequestError(
            "A wildcard may only stand for the last part of an event type (customer.*).",
            param="type",
        )
    return EventRow.type.startswith(prefix, autoescape=True)


@router.get(
    "",
    summary="List events",
    **operation(query=EventListParams, returns=list_of(Event), access="events:read"),
)
async def list_events(
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[EventListParams, Depends(query(EventListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    if params.type is not None and params.types is not None:
        raise InvalidRequestError(
            "You may only specify one of these parameters: type, types.", param="types"
        )
    conditions: list[Any] = created_conditions(EventRow.created_at, params.created)
    if params.type is not None:
        conditions.append(_type_condition(params.type))
    if params.types is not None:
        conditions.append(EventRow.type.in_(params.types))
    merchant_id, livemode = caller.merchant, caller.livemode
    statement = scoped(EventRow, merchant_id, livemode, *conditions)
    rows: Sequence[EventRow]
    if params.after_sequence is not None:
        if params.starting_after or params.ending_before:
            raise InvalidRequestError(
                "after_sequence pages by itself: leave out starting_after and ending_before.",
                param="after_sequence",
            )
        statement = statement.where(EventRow.sequence > params.after_sequence)
        statement = statement.order_by(EventRow.sequence.asc()).limit(params.limit + 1)
        rows = list((await session.execute(statement)).scalars())
        has_more = len(rows) > params.limit
        rows = rows[: params.limit]
    else:

        def cursor_exists(cursor: str) -> Any:
            return select(EventRow.id).where(
                EventRow.id == cursor,
                EventRow.merchant_id == merchant_id,
                EventRow.livemode == livemode,
            )

        rows, has_more = await page(
            session,
            statement,
            EventRow.id,
            params,
            cursor_exists=cursor_exists,
            object_name="event",
        )
    return json_response(list_object(request.url.path, [event_object(r) for r in rows], has_more))


@router.get(
    "/{event}",
    summary="Retrieve an event",
    **operation(query=EventRetrieveParams, returns=Event, access="events:read"),
)
async def retrieve_event(
    event: EventId,
    session: SessionDep,
    caller: Reader,
    params: Annotated[EventRetrieveParams, Depends(query(EventRetrieveParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    statement = scoped(EventRow, caller.merchant, caller.livemode, EventRow.id == event)
    row: EventRow | None = (await session.execute(statement)).scalar_one_or_none()
    if row is None:
        raise ResourceMissingError.for_object("event", event)
    return json_response(event_object(row))
