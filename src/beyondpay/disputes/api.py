"""Dispute routes: parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from beyondpay.api.access import DisputesReader, DisputesWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, Router
from beyondpay.disputes.schemas import (
    Dispute,
    DisputeCloseParams,
    DisputeListParams,
    DisputeUpdateParams,
)
from beyondpay.disputes.service import dispute_service, rendered

router = Router(prefix="/v1/disputes", tags=["disputes"])

DisputeId = Annotated[str, Path(max_length=255, description="The dispute's id (`dp_…`).")]


@router.get("/{dispute}", returns=Dispute)
async def retrieve_dispute(
    dispute: DisputeId, session: SessionDep, caller: DisputesReader
) -> dict[str, Any]:
    """Retrieve a dispute."""
    return await rendered(session, await dispute_service.get(session, caller, dispute))


@router.post("/{dispute}", returns=Dispute)
async def update_dispute(
    dispute: DisputeId,
    session: SessionDep,
    caller: DisputesWriter,
    params: Body[DisputeUpdateParams],
) -> Outcome:
    """Update a dispute: stage or submit evidence, set metadata.

    Evidence sent is submitted to the network unless ``submit=false``; in test mode
    ``evidence[uncategorized_text]=winning_evidence`` wins the dispute and ``losing_evidence``
    loses it, at once.
    """
    row = await dispute_service.update(session, caller, dispute, params)
    return Outcome(await rendered(session, row))


@router.post("/{dispute}/close", returns=Dispute)
async def close_dispute(
    dispute: DisputeId,
    session: SessionDep,
    caller: DisputesWriter,
    params: Body[DisputeCloseParams],
) -> Outcome:
    """Close a dispute: accept the loss.

    The dispute becomes ``lost``; the money withdrawn when it opened stays withdrawn.
    """
    row = await dispute_service.close(session, caller, dispute)
    return Outcome(await rendered(session, row))


@router.get("", returns=Dispute)
async def list_disputes(
    session: SessionDep, caller: DisputesReader, params: Query[DisputeListParams]
) -> Listed:
    """List disputes."""
    rows, has_more = await dispute_service.list(session, caller, params)
    return Listed([await rendered(session, row) for row in rows], has_more)
