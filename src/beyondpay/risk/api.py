"""Risk routes: assessments, rules and blocklist items. Parse, authorize, call the service,
render."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from starlette.responses import Response

from beyondpay.api.auth import SessionDep, authorize
from beyondpay.api.expand import refuse_expansions
from beyondpay.api.lists import list_object, list_of
from beyondpay.api.mutation import Mutation, Outcome, run_mutation
from beyondpay.api.openapi import operation
from beyondpay.api.params import body, query
from beyondpay.api.responses import json_response
from beyondpay.kit.clock import utcnow
from beyondpay.merchants.domain import Caller, Scope
from beyondpay.risk.domain import PaymentContext
from beyondpay.risk.errors import RiskContextInvalidError
from beyondpay.risk.schemas import (
    Assessment,
    AssessmentCreateParams,
    AssessmentListParams,
    BlocklistItem,
    BlocklistItemCreateParams,
    BlocklistItemListParams,
    DeletedObject,
    RetrieveParams,
    Rule,
    RuleCreateParams,
    RuleListParams,
    RuleUpdateParams,
    assessment_object,
    blocklist_item_object,
    rule_object,
)
from beyondpay.risk.service import risk_service

router = APIRouter(prefix="/v1/risk", tags=["risk"])

Reader = Annotated[Caller, Depends(authorize(Scope.risk_read))]
Writer = Annotated[Caller, Depends(authorize(Scope.risk_write))]
AssessmentId = Annotated[str, Path(max_length=255, description="The assessment's id (`ra_…`).")]
RuleId = Annotated[str, Path(max_length=255, description="The rule's id (`rsr_…`).")]
ItemId = Annotated[str, Path(max_length=255, description="The blocklist item's id (`rbl_…`).")]


def _moment(unix_s: int | None) -> datetime | None:
    return None if unix_s is None else datetime.fromtimestamp(unix_s, tz=UTC)


def _context(caller: Caller, params: AssessmentCreateParams) -> PaymentContext:
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


@router.post(
    "/assessments",
    summary="Assess a payment (the stored assessment if this payment was assessed already)",
    **operation(body=AssessmentCreateParams, returns=Assessment, access="risk:write"),
)
async def create_assessment(
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[AssessmentCreateParams, Depends(body(AssessmentCreateParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    ctx = _context(caller, params)

    async def execute(_mutation: Mutation) -> Outcome:
        row = await risk_service.assess(session, ctx)
        return Outcome(assessment_object(row))

    return await run_mutation(request, session, caller, params, execute)


AssessmentList = list_of(Assessment)


@router.get(
    "/assessments",
    summary="List assessments, of one payment with `payment`",
    **operation(query=AssessmentListParams, returns=AssessmentList, access="risk:read"),
)
async def list_assessments(
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[AssessmentListParams, Depends(query(AssessmentListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    rows, has_more = await risk_service.list_assessments(session, caller, params)
    return json_response(
        list_object(request.url.path, [assessment_object(row) for row in rows], has_more)
    )


@router.get(
    "/assessments/{assessment}",
    summary="Retrieve an assessment",
    **operation(query=RetrieveParams, returns=Assessment, access="risk:read"),
)
async def retrieve_assessment(
    assessment: AssessmentId,
    session: SessionDep,
    caller: Reader,
    params: Annotated[RetrieveParams, Depends(query(RetrieveParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    row = await risk_service.get_assessment(session, caller, assessment)
    return json_response(assessment_object(row))


@router.post(
    "/rules",
    summary="Create a rule",
    **operation(body=RuleCreateParams, returns=Rule, access="risk:write"),
)
async def create_rule(
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[RuleCreateParams, Depends(body(RuleCreateParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        row = await risk_service.create_rule(session, caller, params)
        return Outcome(rule_object(row))

    return await run_mutation(request, session, caller, params, execute)


RuleList = list_of(Rule)


@router.get(
    "/rules",
    summary="List rules",
    **operation(query=RuleListParams, returns=RuleList, access="risk:read"),
)
async def list_rules(
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[RuleListParams, Depends(query(RuleListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    rows, has_more = await risk_service.list_rules(session, caller, params)
    return json_response(
        list_object(request.url.path, [rule_object(row) for row in rows], has_more)
    )


@router.get(
    "/rules/{rule}",
    summary="Retrieve a rule",
    **operation(query=RetrieveParams, returns=Rule, access="risk:read"),
)
async def retrieve_rule(
    rule: RuleId,
    session: SessionDep,
    caller: Reader,
    params: Annotated[RetrieveParams, Depends(query(RetrieveParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    return json_response(rule_object(await risk_service.get_rule(session, caller, rule)))


@router.post(
    "/rules/{rule}",
    summary="Update a rule",
    **operation(body=RuleUpdateParams, returns=Rule, access="risk:write"),
)
async def update_rule(
    rule: RuleId,
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[RuleUpdateParams, Depends(body(RuleUpdateParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        row = await risk_service.update_rule(session, caller, rule, params)
        return Outcome(rule_object(row))

    return await run_mutation(request, session, caller, params, execute)


@router.delete(
    "/rules/{rule}",
    summary="Delete a rule",
    **operation(returns=DeletedObject, access="risk:write"),
)
async def delete_rule(
    rule: RuleId, request: Request, session: SessionDep, caller: Writer
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        row = await risk_service.delete_rule(session, caller, rule)
        return Outcome({"id": row.id, "object": "risk.rule", "deleted": True})

    return await run_mutation(request, session, caller, None, execute)


@router.post(
    "/blocklist_items",
    summary="Put a card, VPA, device, IP address or payer on the blocklist",
    **operation(body=BlocklistItemCreateParams, returns=BlocklistItem, access="risk:write"),
)
async def create_blocklist_item(
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[BlocklistItemCreateParams, Depends(body(BlocklistItemCreateParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        row = await risk_service.create_blocklist_item(session, caller, params)
        return Outcome(blocklist_item_object(row))

    return await run_mutation(request, session, caller, params, execute)


BlocklistItemList = list_of(BlocklistItem)


@router.get(
    "/blocklist_items",
    summary="List blocklist items",
    **operation(query=BlocklistItemListParams, returns=BlocklistItemList, access="risk:read"),
)
async def list_blocklist_items(
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[BlocklistItemListParams, Depends(query(BlocklistItemListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    rows, has_more = await risk_service.list_blocklist_items(session, caller, params)
    return json_response(
        list_object(request.url.path, [blocklist_item_object(row) for row in rows], has_more)
    )


@router.get(
    "/blocklist_items/{item}",
    summary="Retrieve a blocklist item",
    **operation(query=RetrieveParams, returns=BlocklistItem, access="risk:read"),
)
async def retrieve_blocklist_item(
    item: ItemId,
    session: SessionDep,
    caller: Reader,
    params: Annotated[RetrieveParams, Depends(query(RetrieveParams))],
) -> Response:
    refuse_expansions(params.expand, set())
    row = await risk_service.get_blocklist_item(session, caller, item)
    return json_response(blocklist_item_object(row))


@router.delete(
    "/blocklist_items/{item}",
    summary="Take an item off the blocklist",
    **operation(returns=DeletedObject, access="risk:write"),
)
async def delete_blocklist_item(
    item: ItemId, request: Request, session: SessionDep, caller: Writer
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        row = await risk_service.delete_blocklist_item(session, caller, item)
        return Outcome({"id": row.id, "object": "risk.blocklist_item", "deleted": True})

    return await run_mutation(request, session, caller, None, execute)
