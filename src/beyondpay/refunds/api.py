"""Refund routes: parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from beyondpay.api.auth import SessionDep, authorize
from beyondpay.api.expand import refuse_expansions
from beyondpay.api.lists import list_object, list_of
from beyondpay.api.mutation import Mutation, Outcome, run_mutation
from beyondpay.api.openapi import operation
from beyondpay.api.params import body, query
from beyondpay.api.responses import json_response
from beyondpay.merchants.domain import Caller, Scope
from beyondpay.payments.schemas import balance_transaction_object
from beyondpay.payments.service import balance_service
from beyondpay.refunds.models import RefundRow
from beyondpay.refunds.schemas import (
    Refund,
    RefundCreateParams,
    RefundListParams,
    RefundRetrieveParams,
    RefundUpdateParams,
    refund_object,
)
from beyondpay.refunds.service import refund_service

router = APIRouter(prefix="/v1/refunds", tags=["refunds"])

Reader = Annotated[Caller, Depends(authorize(Scope.refunds_read))]
Writer = Annotated[Caller, Depends(authorize(Scope.refunds_write))]
RefundId = Annotated[str, Path(max_length=255, description="The refund's id (`re_…`).")]
EXPANSIONS = {"balance_transaction"}


async def _render(
    session: AsyncSession, caller: Caller, row: RefundRow, expand: list[str]
) -> dict[str, Any]:
    rendered = refund_object(row)
    if "balance_transaction" in expand and row.balance_transaction_id:
        transaction = await balance_service.get_transaction(
            session, caller, row.balance_transaction_id
        )
        rendered["balance_transaction"] = balance_transaction_object(transaction)
    return rendered


@router.post(
    "",
    summary="Create a refund",
    **operation(body=RefundCreateParams, returns=Refund, access="refunds:write"),
)
async def create_refund(
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[RefundCreateParams, Depends(body(RefundCreateParams))],
) -> Response:
    expand = refuse_expansions(params.expand, EXPANSIONS)

    async def execute(mutation: Mutation) -> Outcome:
        row = await refund_service.create(session, caller, params, mutation)
        return Outcome(await _render(session, caller, row, expand))

    return await run_mutation(request, session, caller, params, execute)


@router.get(
    "/{refund}",
    summary="Retrieve a refund",
    **operation(query=RefundRetrieveParams, returns=Refund, access="refunds:read"),
)
async def retrieve_refund(
    refund: RefundId,
    session: SessionDep,
    caller: Reader,
    params: Annotated[RefundRetrieveParams, Depends(query(RefundRetrieveParams))],
) -> Response:
    expand = refuse_expansions(params.expand, EXPANSIONS)
    row = await refund_service.get(session, caller, refund)
    return json_response(await _render(session, caller, row, expand))


@router.post(
    "/{refund}",
    summary="Update a refund",
    **operation(body=RefundUpdateParams, returns=Refund, access="refunds:write"),
)
async def update_refund(
    refund: RefundId,
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[RefundUpdateParams, Depends(body(RefundUpdateParams))],
) -> Response:
    expand = refuse_expansions(params.expand, EXPANSIONS)

    async def execute(_mutation: Mutation) -> Outcome:
        row = await refund_service.update(session, caller, refund, params)
        return Outcome(await _render(session, caller, row, expand))

    return await run_mutation(request, session, caller, params, execute)


RefundList = list_of(Refund)


@router.get(
    "",
    summary="List refunds",
    **operation(query=RefundListParams, returns=RefundList, access="refunds:read"),
)
async def list_refunds(
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[RefundListParams, Depends(query(RefundListParams))],
) -> Response:
    expand = refuse_expansions(params.expand, EXPANSIONS, listing=True)
    rows, has_more = await refund_service.list(session, caller, params)
    data = [await _render(session, caller, row, expand) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))
