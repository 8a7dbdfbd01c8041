"""The events limit policies record: their names, and the one place that builds their payload."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service
from beyondpay.limits.models import LimitPolicyRow
from beyondpay.limits.schemas import policy_object


class LimitPolicyEvent(StrEnum):
    created = "limits.policy.created"
    updated = "limits.policy.updated"
    deleted = "limits.policy.deleted"


async def record(
    session: AsyncSession,
    row: LimitPolicyRow,
    type: LimitPolicyEvent,
    *,
    previous_attributes: dict[str, Any] | None = None,
) -> None:
    """``type`` about ``row`` (a policy's scope is the merchant it belongs to), rendered now, in
    the caller's transaction."""
    await event_service.record(
        session,
        merchant_id=row.scope,
        livemode=row.livemode,
        type=type,
        object=policy_object(row),
        previous_attributes=previous_attributes,
    )
