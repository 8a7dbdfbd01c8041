"""Refund routes: parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import Path
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.api.access import RefundsReader, RefundsWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Mutation, Outcome
from beyondpay.api.routing import Body, Listed, Query, Router
from beyondpay.merchants.domain import Caller
from beyondpay.payments.schemas import balance_transaction_object
from beyondpay.payments.service import balance_service
from beyondpay.refunds.models import RefundRow
from beyondpay.refunds.schemas import (
    Refund,
    RefundCreateParams,
    RefundListParams,
    RefundUpdateParams,
    refund_object,
)
from beyondpay.refunds.service import refund_service

EXPANSIONS: Final = frozenset({"balance_transaction"})
router = Router(prefix="/v1/refunds", tags=["refunds"])

RefundId = Annotated[str, Path(max_length=255, description="The refund's id (`re_…`).")]


async def _render(
    session: AsyncSession, caller: Caller, rows: list[RefundRow], expand: list[str]
) -> list[dict[str, Any]]:
    """The refunds with what ``expand`` names (their balance transactions) rendered in place."""
    rendered = []
    for row in rows:
        refund = refund_object(row)
        if "balance_transaction" in expand and row.balance_transaction_id:
            transaction = await balance_service.get_transaction(
                session, caller, row.balance_transaction_id
            )
            refund["balance_transaction"] = balance_transaction_object(transaction)
        rendered.append(refund)
    return rendered


async def _one(
    session: AsyncSession, caller: Caller, row: RefundRow, expand: list[str]
) -> dict[str, Any]:
    return (await _render(session, caller, [row], expand))[0]


@router.post("", returns=Refund, expand=EXPANSIONS)
async def create_refund(
    session: SessionDep,
    caller: RefundsWriter,
    params: Body[RefundCreateParams],
    mutation: Mutation,
    expand: list[str],
) -> Outcome:
    """Create a refund."""
    row = await refund_service.create(session, caller, params, mutation)
    return Outcome(await _one(session, caller, row, expand))


@router.get("/{refund}", returns=Refund, expand=EXPANSIONS)
async def retrieve_refund(
    refund: RefundId,
    session: SessionDep,
    caller: RefundsReader,
    expand: list[str],
) -> dict[str, Any]:
    """Retrieve a refund."""
    return await _one(session, caller, await refund_service.get(session, caller, refund), expand)


@router.post("/{refund}", returns=Refund, expand=EXPANSIONS)
async def update_refund(
    refund: RefundId,
    session: SessionDep,
    caller: RefundsWriter,
    params: Body[RefundUpdateParams],
    expand: list[str],
) -> Outcome:
    """Update a refund."""
    row = await refund_service.update(session, caller, refund, params)
    return Outcome(await _one(session, caller, row, expand))


@router.post("/{refund}/cancel", returns=Refund, expand=EXPANSIONS)
async def cancel_refund(
    refund: RefundId, session: SessionDep, caller: RefundsWriter, expand: list[str]
) -> Outcome:
    """Cancel a refund.

    Only a refund with status `requires_action` can be canceled (Stripe's rule); any other
    answers 400 `refund_unexpected_state`. Its money returns to the balance.
    """
    row = await refund_service.cancel(session, caller, refund)
    return Outcome(await _one(session, caller, row, expand))


@router.get("", returns=Refund, expand=EXPANSIONS)
async def list_refunds(
    session: SessionDep, caller: RefundsReader, params: Query[RefundListParams], expand: list[str]
) -> Listed:
    """List refunds."""
    rows, has_more = await refund_service.list(session, caller, params)
    return Listed(await _render(session, caller, list(rows), expand), has_more)
