"""Reporting routes (Stripe's ``/v1/reporting``): report types, and report runs created,
retrieved and listed. Parse, authorize, call the service, render."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from beyondpay.api.access import ReportingReader, ReportingWriter
from beyondpay.api.auth import SessionDep
from beyondpay.api.mutation import Outcome
from beyondpay.api.routing import Body, Listed, Query, Router
from beyondpay.reporting.schemas import (
    ReportRun,
    ReportRunCreateParams,
    ReportRunListParams,
    ReportType,
)
from beyondpay.reporting.service import (
    report_run_object,
    report_type_object,
    report_types,
    reporting_service,
)

router = Router(prefix="/v1/reporting", tags=["reporting"])

ReportTypeId = Annotated[str, Path(max_length=100, description="e.g. `balance.summary.1`.")]
ReportRunId = Annotated[str, Path(max_length=255, description="The run's id (`frr_…`).")]


@router.get("/report_types/{id}", returns=ReportType)
async def retrieve_report_type(id: ReportTypeId, caller: ReportingReader) -> dict[str, Any]:
    """Retrieve a report type."""
    return report_type_object(reporting_service.report_type(id), caller.livemode)


@router.get("/report_types", returns=ReportType)
async def list_report_types(caller: ReportingReader) -> Listed:
    """List the report types (all of them: no pagination, as Stripe's)."""
    return Listed([report_type_object(found, caller.livemode) for found in report_types()])


@router.post("/report_runs", returns=ReportRun)
async def create_report_run(
    session: SessionDep, caller: ReportingWriter, params: Body[ReportRunCreateParams]
) -> Outcome:
    """Create a report run: `pending` until its job writes the result file."""
    row = await reporting_service.create(session, caller, params)
    return Outcome(await report_run_object(session, row))


@router.get("/report_runs/{id}", returns=ReportRun)
async def retrieve_report_run(
    id: ReportRunId, session: SessionDep, caller: ReportingReader
) -> dict[str, Any]:
    """Retrieve a report run."""
    return await report_run_object(session, await reporting_service.get(session, caller, id))


@router.get("/report_runs", returns=ReportRun)
async def list_report_runs(
    session: SessionDep, caller: ReportingReader, params: Query[ReportRunListParams]
) -> Listed:
    """List report runs, newest first."""
    rows, has_more = await reporting_service.list(session, caller, params)
    return Listed([await report_run_object(session, row) for row in rows], has_more)
