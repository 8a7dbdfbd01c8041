"""Limit-policy routes: parse, authorize, call the service, render."""

from __future__ import annotations

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

router = APIRouter(prefix="/v1/limits/policies", tags=["limits"])

Reader = Annotated[Caller, Depends(authorize(Scope.limits_read))]
Writer = Annotated[Caller, Depends(authorize(Scope.limits_write))]
PolicyId = Annotated[str, Path(max_length=255, description="The policy's id (`lpol_…`).")]


@router.post(
    "",
    summary="Create a limit policy",
    **operation(body=PolicyCreateParams, returns=LimitPolicy, access="limits:write"),
)
async def create_policy(
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[PolicyCreateParams, Depends(body(PolicyCreateParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        row = await limits_service.create_policy(session, caller.merchant, caller.livemode, params)
        return Outcome(policy_object(row))

    return await run_mutation(request, session, caller, params, execute)


@router.get(
    "/{policy}",
    summary="Retrieve a limit policy",
    **operation(returns=LimitPolicy, access="limits:read"),
)
async def retrieve_policy(policy: PolicyId, session: SessionDep, caller: Reader) -> Response:
    row = await limits_service.get_policy(session, caller.merchant, caller.livemode, policy)
    return json_response(policy_object(row))


@router.post(
    "/{policy}",
    summary="Update a limit policy",
    **operation(body=PolicyUpdateParams, returns=LimitPolicy, access="limits:write"),
)
async def update_policy(
    policy: PolicyId,
    request: Request,
    session: SessionDep,
    caller: Writer,
    params: Annotated[PolicyUpdateParams, Depends(body(PolicyUpdateParams))],
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        row = await limits_service.update_policy(
            session, caller.merchant, caller.livemode, policy, params
        )
        return Outcome(policy_object(row))

    return await run_mutation(request, session, caller, params, execute)


@router.delete(
    "/{policy}",
    summary="Delete a limit policy",
    **operation(returns=DeletedLimitPolicy, access="limits:write"),
)
async def delete_policy(
    policy: PolicyId, request: Request, session: SessionDep, caller: Writer
) -> Response:
    async def execute(_mutation: Mutation) -> Outcome:
        row = await limits_service.delete_policy(session, caller.merchant, caller.livemode, policy)
        return Outcome(policy_object(row))

    return await run_mutation(request, session, caller, None, execute)


PolicyList = list_of(LimitPolicy)


@router.get(
    "",
    summary="List limit policies",
    **operation(query=PolicyListParams, returns=PolicyList, access="limits:read"),
)
async def list_policies(
    request: Request,
    session: SessionDep,
    caller: Reader,
    params: Annotated[PolicyListParams, Depends(query(PolicyListParams))],
) -> Response:
    refuse_expansions(params.expand, set(), listing=True)
    rows, has_more = await limits_service.list_policies(
        session, caller.merchant, caller.livemode, params
    )
    return json_response(
        list_object(request.url.path, [policy_object(row) for row in rows], has_more)
    )
