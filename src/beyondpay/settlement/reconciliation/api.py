"""Reconciliation routes for the platform's operators (admin keys, under ``/v1/platform``):
parse, authorize, call the service, render. Every POST is in the platform's audit trail."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from beyondpay.api.access import PlatformAdmin
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, Router, listed
from beyondpay.db.pagination import ListParams
from beyondpay.settlement.reconciliation.schemas import (
    ExceptionResolveParams,
    ReconciliationException,
    ReconciliationExceptionListParams,
    ReconciliationRun,
    ReconciliationRunCreateParams,
    exception_object,
    run_object,
)
from beyondpay.settlement.reconciliation.service import reconciliation_service

router = Router(prefix="/v1/platform/reconciliation", tags=["reconciliation"])

RunId = Annotated[str, Path(max_length=255, description="The run's id (`rrun_…`).")]
ExceptionId = Annotated[str, Path(max_length=255, description="The exception's id (`rex_…`).")]


@router.post("/runs", returns=ReconciliationRun)
async def create_reconciliation_run(
    session: SessionDep, _caller: PlatformAdmin, params: Body[ReconciliationRunCreateParams]
) -> Outcome:
    """Reconcile a business date's rail files; opens an exception per new break."""
    run = await reconciliation_service.run(
        session, params.business_date, params.livemode, params.plan()
    )
    return Outcome(run_object(run))


@router.get("/runs/{id}", returns=ReconciliationRun)
async def retrieve_reconciliation_run(
    id: RunId, session: SessionDep, _caller: PlatformAdmin
) -> dict[str, Any]:
    """Retrieve a reconciliation run."""
    return run_object(await reconciliation_service.get_run(session, id))


@router.get("/runs", returns=ReconciliationRun)
async def list_reconciliation_runs(
    session: SessionDep, _caller: PlatformAdmin, params: Query[ListParams]
) -> Listed:
    """List reconciliation runs, newest first."""
    return listed(run_object, await reconciliation_service.list_runs(session, params))


@router.get("/exceptions/{id}", returns=ReconciliationException)
async def retrieve_reconciliation_exception(
    id: ExceptionId, session: SessionDep, _caller: PlatformAdmin
) -> dict[str, Any]:
    """Retrieve a reconciliation exception."""
    return exception_object(await reconciliation_service.get_exception(session, id))


@router.get("/exceptions", returns=ReconciliationException)
async def list_reconciliation_exceptions(
    session: SessionDep, _caller: PlatformAdmin, params: Query[ReconciliationExceptionListParams]
) -> Listed:
    """List reconciliation exceptions (`status`, `kind` filter), newest first."""
    found = await reconciliation_service.list_exceptions(
        session, params, params.status, params.kind
    )
    return listed(exception_object, found)


@router.post("/exceptions/{id}/resolve", returns=ReconciliationException)
async def resolve_reconciliation_exception(
    id: ExceptionId,
    session: SessionDep,
    caller: PlatformAdmin,
    params: Body[ExceptionResolveParams],
) -> Outcome:
    """Resolve an open exception with a `resolution_note`; the admin key is its resolver."""
    row = await reconciliation_service.resolve(session, id, params.resolution_note, caller.key_id)
    return Outcome(exception_object(row))
