"""The events risk records: their names, and the one place that builds their payloads."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.events.service import event_service
from beyondpay.risk.models import AssessmentRow, BlocklistItemRow, RuleRow
from beyondpay.risk.schemas import assessment_object, blocklist_item_object, rule_object


class RiskEvent(StrEnum):
    assessment_created = "risk.assessment.created"
    rule_created = "risk.rule.created"
    rule_updated = "risk.rule.updated"
    rule_deleted = "risk.rule.deleted"
    blocklist_item_created = "risk.blocklist_item.created"
    blocklist_item_deleted = "risk.blocklist_item.deleted"


_DELETIONS: Final = frozenset({RiskEvent.rule_deleted, RiskEvent.blocklist_item_deleted})


async def record(session: AsyncSession, row: RuleRow | BlocklistItemRow, type: RiskEvent) -> None:
    """``type`` about a rule or a blocklist item, rendered now (marked deleted for a deletion,
    as the route answers), in the caller's transaction."""
    rendered = rule_object(row) if isinstance(row, RuleRow) else blocklist_item_object(row)
    if type in _DELETIONS:
        rendered = {**rendered, "deleted": True}
    await event_service.record(
        session, merchant_id=row.scope, livemode=row.livemode, type=type, object=rendered
    )


def assessment_created_data(row: AssessmentRow) -> dict[str, Any]:
    """The data of ``risk.assessment.created``. The service writes this event itself, in the
    statement that inserts the assessment (only if the payment had none yet), not through
    ``event_service.record``."""
    return {"object": assessment_object(row)}
