"""Limit-policy routes: parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Path

from beyondpay.api.auth import SessionDep, authorize
from beyondpay.api.lists import list_of
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
from beyondpay.merchants.domain import Caller, Scope

router = Router(prefix="/v1/limits/policies", tags=["limits"])

Reader = Annotated[Caller, Depends(authorize(Scope.limits_read))]
Writer = Annotated[Caller, Depends(authorize(Scope.limits_write))]
PolicyId = Annotated[str, Path(max_length=255, description="The policy's id (`lpol_…`).")]
PolicyList = list_of(LimitPolicy)


@router.post("", summary="Create a limit policy", returns=LimitPolicy)
async def create_policy(
    session: SessionDep, caller: Writer, params: Body[PolicyCreateParams]
) -> Outcome:
    row = await limits_service.create_policy(session, caller.merchant, caller.livemode, params)
    return Outcome(policy_object(row))


@router.get("/{policy}", summary="Retrieve a limit policy", returns=LimitPolicy)
async def retrieve_policy(policy: PolicyId, session: SessionDep, caller: Reader) -> dict[str, Any]:
    row = await limits_service.get_policy(session, caller.merchant, caller.livemode, policy)
    return policy_object(row)


@router.post("/{policy}", summary="Update a limit policy", returns=LimitPolicy)
async def update_policy(
    policy: PolicyId, session: SessionDep, caller: Writer, params: Body[PolicyUpdateParams]
) -> Outcome:
    row = await limits_service.update_policy(
        session, caller.merchant, caller.livemode, policy, params
    )
    return Outcome(policy_object(row))


@router.delete("/{policy}", summary="Delete a limit policy", returns=DeletedLimitPolicy)
async def delete_policy(policy: PolicyId, session: SessionDep, caller: Writer) -> Outcome:
    row = await limits_service.delete_policy(session, caller.merchant, caller.livemode, policy)
    return Outcome(policy_object(row))


@router.get("", summary="List limit policies", returns=PolicyList)
async def list_policies(
    session: SessionDep, caller: Reader, params: Query[PolicyListParams]
) -> Listed:
    page = await limits_service.list_policies(session, caller.merchant, caller.livemode, params)
    return listed(policy_object, page)
