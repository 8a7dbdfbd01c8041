"""Reconciliation's API objects (our extension, for the platform's operators: Stripe has no
reconciliation of rail files it shows): ``reconciliation_run`` and ``reconciliation_exception``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final, Literal

from pydantic import BaseModel, Field

from beyondpay.db.pagination import ListParams
from beyondpay.kit.params import Params
from beyondpay.rails.file_domain import BreakKind, FaultPlan, FileKind
from beyondpay.settlement.reconciliation.models import (
    ReconciliationExceptionRow,
    ReconciliationRunRow,
)

RESOLUTION_NOTE_CHARS_MAX: Final = 5_000
SEED_MAX: Final = 2**62
# No rail sent a file before this; it also keeps the day before a date within the calendar.
BUSINESS_DATE_MIN: Final = date(2000, 1, 1)


class FaultInjectionParams(Params):
    seed: int = Field(default=0, ge=0, le=SEED_MAX)
    kinds: list[BreakKind] = Field(
        default_factory=list,
        max_length=len(BreakKind),
        description="The faults the sandbox rails write into their files, each at most once "
        "a file and day (`late` moves a transaction to the next day's file).",
    )


class ReconciliationRunCreateParams(Params):
    business_date: date = Field(
        ge=BUSINESS_DATE_MIN, description="The IST business date, `YYYY-MM-DD`."
    )
    livemode: bool = Field(default=False, description="Which mode's files and records.")
    fault_injection: FaultInjectionParams | None = Field(
        default=None, description="Test mode only: make the sandbox rails' files misbehave."
    )

    def plan(self) -> FaultPlan:
        injection = self.fault_injection
        if injection is None:
            return FaultPlan(seed=0, kinds=frozenset())
        return FaultPlan(seed=injection.seed, kinds=frozenset(injection.kinds))


class ReconciliationExceptionListParams(ListParams):
    status: Literal["open", "resolved"] | None = None
    kind: BreakKind | None = None


class ExceptionResolveParams(Params):
    resolution_note: str = Field(min_length=1, max_length=RESOLUTION_NOTE_CHARS_MAX)


class ReconciliationFileCounts(BaseModel):
    file: FileKind
    lines: int
    matched: int
    unmatched: int
    missing: int


class ReconciliationRun(BaseModel):
    id: str
    object: Literal["reconciliation_run"]
    business_date: str
    livemode: bool
    lines: int = Field(description="Lines in the day's files.")
    matched: int = Field(description="Lines that matched a record of the day exactly.")
    unmatched: int = Field(description="Lines that did not (`lines - matched`).")
    missing: int = Field(description="Records of the day that no line names.")
    mismatch_ppm: int = Field(
        description="`(unmatched + missing) * 1000000 // (lines + missing)`, in integers."
    )
    exceptions_opened: int
    files: list[ReconciliationFileCounts]
    faults_injected: list[dict[str, Any]]
    created: int


class ReconciliationException(BaseModel):
    id: str
    object: Literal["reconciliation_exception"]
    business_date: str
    file: FileKind
    kind: BreakKind
    reference: str = Field(description="The rail's key: charge reference, UPI id, UTR.")
    merchant: str | None
    object_id: str | None = Field(description="Our object: a charge, a refund, a payout.")
    file_amount: int | None
    platform_amount: int | None
    currency: str
    status: Literal["open", "resolved"]
    resolution_note: str | None
    resolved_by: str | None
    resolved_at: int | None
    run: str
    livemode: bool
    created: int


def _unix(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def run_object(row: ReconciliationRunRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "reconciliation_run",
        "business_date": row.business_date.isoformat(),
        "livemode": row.livemode,
        "lines": row.lines,
        "matched": row.matched,
        "unmatched": row.unmatched,
        "missing": row.missing,
        "mismatch_ppm": row.mismatch_ppm,
        "exceptions_opened": row.exceptions_opened,
        "files": row.files,
        "faults_injected": row.faults_injected,
        "created": _unix(row.created_at),
    }


def exception_object(row: ReconciliationExceptionRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "reconciliation_exception",
        "business_date": row.business_date.isoformat(),
        "file": row.file,
        "kind": row.kind,
        "reference": row.key,
        "merchant": row.merchant_id,
        "object_id": row.object_id,
        "file_amount": row.file_amount,
        "platform_amount": row.platform_amount,
        "currency": row.currency,
        "status": row.status,
        "resolution_note": row.resolution_note,
        "resolved_by": row.resolved_by,
        "resolved_at": _unix(row.resolved_at),
        "run": row.run_id,
        "livemode": row.livemode,
        "created": _unix(row.created_at),
    }
