"""Transfer routes (Connect): parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from beyondpay.api.access import TransfersReader, TransfersWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, Router, listed
from beyondpay.connect.schemas import (
    ConnectTransferCreateParams,
    ConnectTransferListParams,
    ConnectTransferUpdateParams,
    ReversalCreateParams,
    ReversalListParams,
    ReversalUpdateParams,
    Transfer,
    TransferReversal,
    reversal_object,
    transfer_object,
)
from beyondpay.connect.service import transfer_service

router = Router(prefix="/v1/transfers", tags=["transfers"])

TransferId = Annotated[str, Path(max_length=255, description="The transfer's id (`tr_…`).")]
ReversalId = Annotated[str, Path(max_length=255, description="The reversal's id (`trr_…`).")]


@router.post("", returns=Transfer)
async def create_transfer(
    session: SessionDep, caller: TransfersWriter, params: Body[ConnectTransferCreateParams]
) -> Outcome:
    """Send money from the platform's available balance to a connected account."""
    return Outcome(transfer_object(await transfer_service.create(session, caller, params)))


@router.get("/{id}", returns=Transfer)
async def retrieve_transfer(
    id: TransferId, session: SessionDep, caller: TransfersReader
) -> dict[str, Any]:
    """Retrieve a transfer."""
    return transfer_object(await transfer_service.get(session, caller, id))


@router.post("/{id}", returns=Transfer)
async def update_transfer(
    id: TransferId,
    session: SessionDep,
    caller: TransfersWriter,
    params: Body[ConnectTransferUpdateParams],
) -> Outcome:
    """Update a transfer's description and metadata."""
    return Outcome(transfer_object(await transfer_service.update(session, caller, id, params)))


@router.get("", returns=Transfer)
async def list_transfers(
    session: SessionDep, caller: TransfersReader, params: Query[ConnectTransferListParams]
) -> Listed:
    """List the platform's transfers."""
    return listed(transfer_object, await transfer_service.list(session, caller, params))


@router.post("/{id}/reversals", returns=TransferReversal)
async def create_transfer_reversal(
    id: TransferId, session: SessionDep, caller: TransfersWriter, params: Body[ReversalCreateParams]
) -> Outcome:
    """Reverse a transfer, in whole or in part."""
    return Outcome(reversal_object(await transfer_service.reverse(session, caller, id, params)))


@router.get("/{id}/reversals/{reversal}", returns=TransferReversal)
async def retrieve_transfer_reversal(
    id: TransferId, reversal: ReversalId, session: SessionDep, caller: TransfersReader
) -> dict[str, Any]:
    """Retrieve a transfer's reversal."""
    return reversal_object(await transfer_service.reversal(session, caller, id, reversal))


@router.post("/{id}/reversals/{reversal}", returns=TransferReversal)
async def update_transfer_reversal(
    id: TransferId,
    reversal: ReversalId,
    session: SessionDep,
    caller: TransfersWriter,
    params: Body[ReversalUpdateParams],
) -> Outcome:
    """Update a reversal's metadata."""
    row = await transfer_service.update_reversal(session, caller, id, reversal, params)
    return Outcome(reversal_object(row))


@router.get("/{id}/reversals", returns=TransferReversal)
async def list_transfer_reversals(
    id: TransferId, session: SessionDep, caller: TransfersReader, params: Query[ReversalListParams]
) -> Listed:
    """List a transfer's reversals."""
    return listed(
        reversal_object, await transfer_service.list_reversals(session, caller, id, params)
    )
