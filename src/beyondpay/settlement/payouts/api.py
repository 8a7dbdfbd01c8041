"""Payout routes (Stripe's ``/v1/payouts``): parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from beyondpay.api.access import PayoutsReader, PayoutsWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Mutation, Outcome
from beyondpay.api.routing import Body, Listed, Query, Router, listed
from beyondpay.settlement.payouts.schemas import (
    Payout,
    PayoutCreateParams,
    PayoutListParams,
    PayoutReverseParams,
    PayoutUpdateParams,
    payout_object,
)
from beyondpay.settlement.payouts.service import payout_service

router = Router(prefix="/v1/payouts", tags=["payouts"])

PayoutId = Annotated[str, Path(max_length=255, description="The payout's id (`po_…`).")]


@router.post("", returns=Payout)
async def create_payout(
    session: SessionDep,
    caller: PayoutsWriter,
    params: Body[PayoutCreateParams],
    mutation: Mutation,
) -> Outcome:
    """Create a payout from the available balance to a verified bank account."""
    row = await payout_service.create(session, caller, params, mutation)
    return Outcome(payout_object(row))


@router.get("/{payout}", returns=Payout)
async def retrieve_payout(
    payout: PayoutId, session: SessionDep, caller: PayoutsReader
) -> dict[str, Any]:
    """Retrieve a payout."""
    return payout_object(await payout_service.get(session, caller, payout))


@router.post("/{payout}", returns=Payout)
async def update_payout(
    payout: PayoutId,
    session: SessionDep,
    caller: PayoutsWriter,
    params: Body[PayoutUpdateParams],
) -> Outcome:
    """Update a payout's metadata or description."""
    return Outcome(payout_object(await payout_service.update(session, caller, payout, params)))


@router.post("/{payout}/cancel", returns=Payout)
async def cancel_payout(payout: PayoutId, session: SessionDep, caller: PayoutsWriter) -> Outcome:
    """Cancel a payout the rail has not received (one in its cooling hold).

    Its money returns to the available balance; a payout already sent answers 400
    `payout_unexpected_state`.
    """
    return Outcome(payout_object(await payout_service.cancel(session, caller, payout)))


@router.post("/{payout}/reverse", returns=Payout)
async def reverse_payout(
    payout: PayoutId,
    session: SessionDep,
    caller: PayoutsWriter,
    params: Body[PayoutReverseParams],
) -> Outcome:
    """Reverse a paid payout: a new payout that brings its money back to the balance."""
    row = await payout_service.reverse(session, caller, payout, params)
    return Outcome(payout_object(row))


@router.get("", returns=Payout)
async def list_payouts(
    session: SessionDep, caller: PayoutsReader, params: Query[PayoutListParams]
) -> Listed:
    """List payouts (filters: `status`, `arrival_date`, `created`, `destination`)."""
    return listed(payout_object, await payout_service.list(session, caller, params))
