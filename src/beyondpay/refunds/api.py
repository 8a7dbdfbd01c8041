"""Refund routes: parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from beyondpay.api.auth import SessionDep, authorize
from beyondpay.api.lists import list_object, list_of
from beyondpay.api.mutation import Mutation, Outcome
from beyondpay.api.responses import json_response
from beyondpay.api.routing import Body, Query, Router
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

router = Router(prefix="/v1/refunds", tags=["refunds"])

Reader = Annotated[Caller, Depends(authorize(Scope.refunds_read))]
Writer = Annotated[Caller, Depends(authorize(Scope.refunds_write))]
RefundId = Annotated[str, Path(max_length=255, description="The refund's id (`re_…`).")]
EXPANSIONS: Final = frozenset({"balance_transaction"})
RefundList = list_of(Refund)


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


@router.post("", summary="Create a refund", returns=Refund, expand=EXPANSIONS)
async def create_refund(
    session: SessionDep,
    caller: Writer,
    params: Body[RefundCreateParams],
    mutation: Mutation,
    expand: list[str],
) -> Outcome:
    row = await refund_service.create(session, caller, params, mutation)
    return Outcome(await _render(session, caller, row, expand))


@router.get("/{refund}", summary="Retrieve a refund", returns=Refund, expand=EXPANSIONS)
async def retrieve_refund(
    refund: RefundId,
    session: SessionDep,
    caller: Reader,
    _: Query[RefundRetrieveParams],
    expand: list[str],
) -> Response:
    row = await refund_service.get(session, caller, refund)
    return json_response(await _render(session, caller, row, expand))


@router.post("/{refund}", summary="Update a refund", returns=Refund, expand=EXPANSIONS)
async def update_refund(
    refund: RefundId,
    session: SessionDep,
    caller: Writer,
    params: Body[RefundUpdateParams],
    expand: list[str],
) -> Outcome:
    row = await refund_service.update(session, caller, refund, params)
    return Outcome(await _render(session, caller, row, expand))


@router.get("", summary="List refunds", returns=RefundList, expand=EXPANSIONS)
async def list_refunds(
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Query[RefundListParams],
    expand: list[str],
) -> Response:
    rows, has_more = await refund_service.list(session, caller, params)
    data = [await _render(session, caller, row, expand) for row in rows]
    return json_response(list_object(request.url.path, data, has_more))
