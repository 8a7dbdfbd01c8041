"""Risk routes: assessments, rules and blocklist items. Parse, authorize, call the service,
render."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Path

from beyondpay.api.access import RiskReader, RiskWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, Router, listed
from beyondpay.kit.clock import utcnow
from beyondpay.risk.domain import PaymentContext
from beyondpay.risk.errors import RiskContextInvalidError
from beyondpay.risk.models import BlocklistItemRow, RuleRow
from beyondpay.risk.schemas import (
    Assessment,
    AssessmentCreateParams,
    AssessmentListParams,
    BlocklistItem,
    BlocklistItemCreateParams,
    BlocklistItemListParams,
    DeletedObject,
    Rule,
    RuleCreateParams,
    RuleListParams,
    RuleUpdateParams,
    assessment_object,
    blocklist_item_object,
    rule_object,
)
from beyondpay.risk.service import risk_service

router = Router(prefix="/v1/risk", tags=["risk"])

AssessmentId = Annotated[str, Path(max_length=255, description="The assessment's id (`ra_…`).")]
RuleId = Annotated[str, Path(max_length=255, description="The rule's id (`rsr_…`).")]
ItemId = Annotated[str, Path(max_length=255, description="The blocklist item's id (`rbl_…`).")]


def _moment(unix_s: int | None) -> datetime | None:
    return None if unix_s is None else datetime.fromtimestamp(unix_s, tz=UTC)


async def _payment_context(
    caller: RiskWriter, params: Body[AssessmentCreateParams]
) -> PaymentContext:
    """The payment to assess, built before the mutation runs: a payment that names no payer is
    a validation failure, which an idempotency key does not store."""
    payer = params.payer or params.instrument_fingerprint
    if payer is None:
        raise RiskContextInvalidError(
            "Name the payer (a customer id) or the instrument's fingerprint.", param="payer"
        )
    return PaymentContext(
        payment_id=params.payment,
        scope=caller.merchant,
        livemode=caller.livemode,
        rail=params.rail.value,
        amount_minor=params.amount,
        currency=params.currency,
        payer_key=payer,
        payee_key=params.payee or caller.merchant,
        occurred_at=utcnow(),
        merchant_id=caller.merchant,
        instrument_fingerprint=params.instrument_fingerprint,
        device_id=params.device,
        device_bound_at=_moment(params.device_bound_at),
        ip=params.ip,
        latitude=params.latitude,
        longitude=params.longitude,
        mcc=params.mcc,
        payer_created_at=_moment(params.payer_created),
        segment=params.segment,
    )


AssessedPayment = Annotated[PaymentContext, Depends(_payment_context)]


def _deleted(row: RuleRow | BlocklistItemRow, kind: str) -> Outcome:
    """A deleted rule or blocklist item: its id and kind, as Stripe answers a deletion."""
    return Outcome({"id": row.id, "object": kind, "deleted": True})


@router.post("/assessments", returns=Assessment)
async def create_assessment(
    session: SessionDep,
    caller: RiskWriter,
    params: Body[AssessmentCreateParams],
    payment: AssessedPayment,
) -> Outcome:
    """Assess a payment (the stored assessment if this payment was assessed already)."""
    return Outcome(assessment_object(await risk_service.assess(session, payment)))


@router.get("/assessments", returns=Assessment)
async def list_assessments(
    session: SessionDep, caller: RiskReader, params: Query[AssessmentListParams]
) -> Listed:
    """List assessments, of one payment with `payment`."""
    return listed(assessment_object, await risk_service.list_assessments(session, caller, params))


@router.get("/assessments/{assessment}", returns=Assessment)
async def retrieve_assessment(
    assessment: AssessmentId, session: SessionDep, caller: RiskReader
) -> dict[str, Any]:
    """Retrieve an assessment."""
    return assessment_object(await risk_service.get_assessment(session, caller, assessment))


@router.post("/rules", returns=Rule)
async def create_rule(
    session: SessionDep, caller: RiskWriter, params: Body[RuleCreateParams]
) -> Outcome:
    """Create a rule."""
    return Outcome(rule_object(await risk_service.create_rule(session, caller, params)))


@router.get("/rules", returns=Rule)
async def list_rules(
    session: SessionDep, caller: RiskReader, params: Query[RuleListParams]
) -> Listed:
    """List rules."""
    return listed(rule_object, await risk_service.list_rules(session, caller, params))


@router.get("/rules/{rule}", returns=Rule)
async def retrieve_rule(rule: RuleId, session: SessionDep, caller: RiskReader) -> dict[str, Any]:
    """Retrieve a rule."""
    return rule_object(await risk_service.get_rule(session, caller, rule))


@router.post("/rules/{rule}", returns=Rule)
async def update_rule(
    rule: RuleId, session: SessionDep, caller: RiskWriter, params: Body[RuleUpdateParams]
) -> Outcome:
    """Update a rule."""
    return Outcome(rule_object(await risk_service.update_rule(session, caller, rule, params)))


@router.delete("/rules/{rule}", returns=DeletedObject)
async def delete_rule(rule: RuleId, session: SessionDep, caller: RiskWriter) -> Outcome:
    """Delete a rule."""
    return _deleted(await risk_service.delete_rule(session, caller, rule), "risk.rule")


@router.post("/blocklist_items", returns=BlocklistItem)
async def create_blocklist_item(
    session: SessionDep, caller: RiskWriter, params: Body[BlocklistItemCreateParams]
) -> Outcome:
    """Put a card, VPA, device, IP address or payer on the blocklist."""
    row = await risk_service.create_blocklist_item(session, caller, params)
    return Outcome(blocklist_item_object(row))


@router.get("/blocklist_items", returns=BlocklistItem)
async def list_blocklist_items(
    session: SessionDep, caller: RiskReader, params: Query[BlocklistItemListParams]
) -> Listed:
    """List blocklist items."""
    page = await risk_service.list_blocklist_items(session, caller, params)
    return listed(blocklist_item_object, page)


@router.get("/blocklist_items/{item}", returns=BlocklistItem)
async def retrieve_blocklist_item(
    item: ItemId, session: SessionDep, caller: RiskReader
) -> dict[str, Any]:
    """Retrieve a blocklist item."""
    return blocklist_item_object(await risk_service.get_blocklist_item(session, caller, item))


@router.delete("/blocklist_items/{item}", returns=DeletedObject)
async def delete_blocklist_item(item: ItemId, session: SessionDep, caller: RiskWriter) -> Outcome:
    """Take an item off the blocklist."""
    row = await risk_service.delete_blocklist_item(session, caller, item)
    return _deleted(row, "risk.blocklist_item")
