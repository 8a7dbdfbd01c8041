"""Reporting's API objects: Stripe's ``reporting.report_type`` and ``reporting.report_run``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from beyondpay.db.pagination import ListParams
from beyondpay.files.schemas import File
from beyondpay.kit.params import Params

UNIX_S_MAX = 253_402_300_799
COLUMNS_MAX = 50


class ReportRunParameters(Params):
    interval_start: int = Field(ge=0, le=UNIX_S_MAX, description="Unix seconds, included.")
    interval_end: int = Field(ge=0, le=UNIX_S_MAX, description="Unix seconds, excluded.")
    currency: str = Field(default="inr", min_length=3, max_length=3)
    columns: list[str] | None = Field(default=None, max_length=COLUMNS_MAX)


class ReportRunCreateParams(Params):
    report_type: str = Field(min_length=1, max_length=100)
    parameters: ReportRunParameters


class ReportRunListParams(ListParams):
    pass


class ReportType(BaseModel):
    id: str
    object: Literal["reporting.report_type"]
    data_available_start: int
    data_available_end: int
    default_columns: list[str]
    livemode: bool
    name: str
    updated: int
    version: int


class ReportRun(BaseModel):
    id: str = Field(description="`frr_…`")
    object: Literal["reporting.report_run"]
    created: int
    error: str | None
    livemode: bool
    parameters: dict[str, Any]
    report_type: str
    result: File | None
    status: Literal["pending", "succeeded", "failed"]
    succeeded_at: int | None
