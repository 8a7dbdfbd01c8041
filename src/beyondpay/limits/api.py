"""Limit-policy routes: parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from beyondpay.api.access import LimitsReader, LimitsWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, Router, listed
from beyondpay.limits.schemas import (
    DeletedLimitPolicy,
    LimitPolicy,
    PolicyCreateParams,
    PolicyListParams,
    PolicyUpdateParams,
    policy_object,
)
from beyondpay.limits.service import limits_service

router = Router(prefix="/v1/limits/policies", tags=["limits"])

PolicyId = Annotated[str, Path(max_length=255, description="The policy's id (`lpol_…`).")]


@router.post("", returns=LimitPolicy)
async def create_policy(
    session: SessionDep, caller: LimitsWriter, params: Body[PolicyCreateParams]
) -> Outcome:
    """Create a limit policy."""
    row = await limits_service.create_policy(session, caller.merchant, caller.livemode, params)
    return Outcome(policy_object(row))


@router.get("/{policy}", returns=LimitPolicy)
async def retrieve_policy(
    policy: PolicyId, session: SessionDep, caller: LimitsReader
) -> dict[str, Any]:
    """Retrieve a limit policy."""
    row = await limits_service.get_policy(session, caller.merchant, caller.livemode, policy)
    return policy_object(row)


@router.post("/{policy}", returns=LimitPolicy)
async def update_policy(
    policy: PolicyId, session: SessionDep, caller: LimitsWriter, params: Body[PolicyUpdateParams]
) -> Outcome:
    """Update a limit policy."""
    row = await limits_service.update_policy(
        session, caller.merchant, caller.livemode, policy, params
    )
    return Outcome(policy_object(row))


@router.delete("/{policy}", returns=DeletedLimitPolicy)
async def delete_policy(policy: PolicyId, session: SessionDep, caller: LimitsWriter) -> Outcome:
    """Delete a limit policy."""
    row = await limits_service.delete_policy(session, caller.merchant, caller.livemode, policy)
    return Outcome(policy_object(row))


@router.get("", returns=LimitPolicy)
async def list_policies(
    session: SessionDep, caller: LimitsReader, params: Query[PolicyListParams]
) -> Listed:
    """List limit policies."""
    page = await limits_service.list_policies(session, caller.merchant, caller.livemode, params)
    return listed(policy_object, page)
