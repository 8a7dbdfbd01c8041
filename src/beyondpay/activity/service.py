"""Reading a merchant's events and audit trail, always within (merchant, mode). Never commits.

Events are listed newest first with Stripe's cursors, or, with ``after_sequence=N``, oldest
first by ``sequence``: the numbered events after ``N``, for a consumer that keeps its place by
number. An event is numbered right after its transaction commits, when the worker runs
(``events.tasks``), so it is readable by ``after_sequence`` from then on; numbers are gap-free
and never appear out of order, so a consumer that always asks for what follows the last number
it read never misses an event.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.activity.schemas import AuditEventListParams, EventListParams
from beyondpay.audit.models import AuditEventRow
from beyondpay.db.pagination import created_conditions, scoped, scoped_page
from beyondpay.events.models import EventRow
from beyondpay.kit.errors import InvalidRequestError, ResourceMissingError
from beyondpay.merchants.domain import Caller

WILDCARD: Final = "*"


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


def _event_conditions(params: EventListParams) -> list[Any]:
    if params.type is not None and params.types is not None:
        raise InvalidRequestError(
            "You may only specify one of these parameters: type, types.", param="types"
        )
    conditions: list[Any] = created_conditions(EventRow.created_at, params.created)
    if params.type is not None:
        conditions.append(_type_condition(params.type))
    if params.types is not None:
        conditions.append(EventRow.type.in_(params.types))
    return conditions


class ActivityService:
    async def list_events(
        self, session: AsyncSession, caller: Caller, params: EventListParams
    ) -> tuple[Sequence[EventRow], bool]:
        merchant_id, livemode = caller.merchant, caller.livemode
        conditions = _event_conditions(params)
        if params.after_sequence is not None:
            statement = scoped(EventRow, merchant_id, livemode, *conditions)
            return await self._numbered_after(session, statement, params, params.after_sequence)
        return await scoped_page(
            session, EventRow, merchant_id, livemode, params, *conditions, object_name="event"
        )

    @staticmethod
    async def _numbered_after(
        session: AsyncSession, statement: Select[Any], params: EventListParams, sequence: int
    ) -> tuple[Sequence[EventRow], bool]:
        """The numbered events after ``sequence``, oldest first."""
        if params.starting_after or params.ending_before:
            raise InvalidRequestError(
                "after_sequence pages by itself: leave out starting_after and ending_before.",
                param="after_sequence",
            )
        statement = statement.where(EventRow.sequence > sequence)
        statement = statement.order_by(EventRow.sequence.asc()).limit(params.limit + 1)
        rows: list[EventRow] = list((await session.execute(statement)).scalars())
        return rows[: params.limit], len(rows) > params.limit

    async def get_event(self, session: AsyncSession, caller: Caller, event_id: str) -> EventRow:
        statement = scoped(EventRow, caller.merchant, caller.livemode, EventRow.id == event_id)
        row: EventRow | None = (await session.execute(statement)).scalar_one_or_none()
        if row is None:
            raise ResourceMissingError.for_object("event", event_id)
        return row

    async def list_audit_events(
        self, session: AsyncSession, merchant_id: str, livemode: bool, params: AuditEventListParams
    ) -> tuple[Sequence[AuditEventRow], bool]:
        """A page of the audit trail of ``merchant_id`` (``PLATFORM_SCOPE``: the platform's)."""
        conditions: list[Any] = created_conditions(AuditEventRow.created_at, params.created)
        if params.api_key is not None:
            conditions.append(AuditEventRow.api_key_id == params.api_key)
        if params.object_id is not None:
            conditions.append(AuditEventRow.object_id == params.object_id)
        return await scoped_page(
            session,
            AuditEventRow,
            merchant_id,
            livemode,
            params,
            *conditions,
            object_name="audit_event",
        )


activity_service = ActivityService()
