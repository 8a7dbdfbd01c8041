"""Reconciliation's use cases: a business date's rail files matched to the platform's records,
each break opened as an exception (once), exceptions listed and resolved. Never commits.

The platform's records of a file come from the module that owns them: charges from payments,
payouts from the payout rail (and the ledger transfer ``<po_…>:debit`` once payouts exist);
refunds are registered by the composition root (``register_records``: refunds sit beside
settlement, not below it). Matching reads rows of the merchants the lines name and inserts
exceptions with ``ON CONFLICT DO NOTHING``: nothing every merchant shares is locked.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, Protocol

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db.pagination import ListParams, owned_page
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.ledger.service import ledger_service
from beyondpay.payments.service import PlatformRecord, captured_charges
from beyondpay.rails import file_domain
from beyondpay.rails.file_domain import BreakKind, FaultPlan, FileKind
from beyondpay.rails.service import PayoutRecord, payouts_by_utr, settled_keys, settlement_file
from beyondpay.settlement.reconciliation import domain
from beyondpay.settlement.reconciliation.errors import (
    BusinessDateInFutureError,
    ExceptionAlreadyResolvedError,
    FaultInjectionLiveError,
)
from beyondpay.settlement.reconciliation.models import (
    ReconciliationExceptionRow,
    ReconciliationRunRow,
)

ARRIVED_LATE_BY: Final = "reconciliation"


class RecordSource(Protocol):
    def __call__(
        self,
        session: AsyncSession,
        rail: str,
        livemode: bool,
        *,
        keys: Sequence[str] = (),
        between: tuple[datetime, datetime] | None = None,
    ) -> Awaitable[list[PlatformRecord]]: ...


_sources: dict[FileKind, list[RecordSource]] = {
    FileKind.card: [captured_charges],
    FileKind.upi: [captured_charges],
}


def register_records(kind: FileKind, source: RecordSource) -> None:
    """Another module's records of ``kind``'s file (refunds' on the card file). Twice: once."""
    if source not in _sources.setdefault(kind, []):
        _sources[kind].append(source)


def _known(record: PlatformRecord) -> domain.Known:
    return domain.Known(
        record.key,
        record.object_id,
        record.merchant_id,
        record.amount_minor,
        record.currency,
        file_domain.business_date_of(record.occurred_at),
    )


def _known_payout(payout: PayoutRecord, ledger_amount: int | None) -> domain.Known:
    # Once payouts exist, the ledger's debit is the platform's word on the amount.
    amount = payout.amount_minor if ledger_amount is None else ledger_amount
    return domain.Known(
        payout.utr,
        payout.request_id,
        payout.merchant_id,
        amount,
        payout.currency,
        payout.business_date,
    )


async def _payouts(session: AsyncSession, livemode: bool, utrs: list[str]) -> list[domain.Known]:
    payouts = [p for p in (await payouts_by_utr(session, livemode, utrs)).values()]
    paid = [payout for payout in payouts if payout.status == "paid"]
    transfers = await ledger_service.get_transfers(
        session, [f"{payout.request_id}:debit" for payout in paid]
    )
    return [
        _known_payout(
            payout,
            entry.transfer.amount
            if (entry := transfers.get(f"{payout.request_id}:debit"))
            else None,
        )
        for payout in paid
    ]


async def _records(
    session: AsyncSession,
    kind: FileKind,
    livemode: bool,
    *,
    keys: Sequence[str] = (),
    day: date | None = None,
) -> list[domain.Known]:
    """The platform's records of ``kind``'s file: those of ``keys``, or those of ``day``."""
    if kind == FileKind.payouts:
        # The payout rail's rows of the day: the payouts module (in parallel) will add its own.
        if day is not None:
            keys = await settled_keys(session, kind, day, livemode)
        return await _payouts(session, livemode, list(keys))
    between = None if day is None else file_domain.day_bounds(day)
    found: list[domain.Known] = []
    for source in _sources.get(kind, []):
        records = await source(session, kind.value, livemode, keys=keys, between=between)
        found.extend(_known(record) for record in records)
    return found


@dataclass(frozen=True)
class FileResult:
    kind: FileKind
    matching: domain.Matching
    faults: list[file_domain.InjectedFault]


async def _reconcile_file(
    session: AsyncSession, kind: FileKind, business_date: date, livemode: bool, plan: FaultPlan
) -> FileResult:
    sent = await settlement_file(session, kind, business_date, livemode, plan)
    lines = file_domain.parse(kind, sent.text)
    keys = sorted({line.key for line in lines})
    named = await _records(session, kind, livemode, keys=keys) if keys else []
    of_day = await _records(session, kind, livemode, day=business_date)
    matching = domain.match(business_date, lines, {known.key: known for known in named}, of_day)
    return FileResult(kind, matching, sent.faults)


async def _open_exceptions(
    session: AsyncSession, run: ReconciliationRunRow, result: FileResult
) -> int:
    """Each break as an exception, unless the same one is already recorded; a late line
    resolves the earlier day's ``missing_from_file`` for its key. Returns how many opened."""
    opened = 0
    now = utcnow()
    for found in result.matching.breaks:
        inserted = await session.execute(
            pg_insert(ReconciliationExceptionRow)
            .values(
                id=new_id("rex"),
                livemode=run.livemode,
                business_date=run.business_date,
                file=result.kind.value,
                kind=found.kind.value,
                key=found.key,
                merchant_id=found.merchant_id,
                object_id=found.object_id,
                file_amount=found.file_amount_minor,
                platform_amount=found.platform_amount_minor,
                currency=found.currency,
                status="open",
                run_id=run.id,
                created_at=now,
            )
            .on_conflict_do_nothing()
            .returning(ReconciliationExceptionRow.id)
        )
        opened += inserted.scalar() is not None
        if found.kind == BreakKind.late:
            await _resolve_arrived(session, run, result.kind, found.key, now)
    return opened


async def _resolve_arrived(
    session: AsyncSession, run: ReconciliationRunRow, kind: FileKind, key: str, now: datetime
) -> None:
    await session.execute(
        update(ReconciliationExceptionRow)
        .where(
            ReconciliationExceptionRow.livemode == run.livemode,
            ReconciliationExceptionRow.file == kind.value,
            ReconciliationExceptionRow.kind == BreakKind.missing_from_file.value,
            ReconciliationExceptionRow.key == key,
            ReconciliationExceptionRow.business_date < run.business_date,
            ReconciliationExceptionRow.status == "open",
        )
        .values(
            status="resolved",
            resolution_note=f"arrived late, in the file of {run.business_date.isoformat()}",
            resolved_by=ARRIVED_LATE_BY,
            resolved_at=now,
        )
    )


def _fault_objects(results: Sequence[FileResult]) -> list[dict[str, Any]]:
    return [
        {
            "kind": fault.kind.value,
            "file": fault.file.value,
            "key": fault.key,
            "business_date": fault.business_date.isoformat(),
        }
        for result in results
        for fault in result.faults
    ]


class ReconciliationService:
    async def run(
        self,
        session: AsyncSession,
        business_date: date,
        livemode: bool,
        plan: FaultPlan = file_domain.NO_FAULTS,
    ) -> ReconciliationRunRow:
        """Reconcile ``business_date``'s three files. Running it again records another run
        and opens only breaks not already recorded."""
        if business_date > file_domain.business_date_of(utcnow()):
            raise BusinessDateInFutureError(param="business_date")
        if livemode and plan.kinds:
            raise FaultInjectionLiveError(param="fault_injection")
        results = [
            await _reconcile_file(session, kind, business_date, livemode, plan) for kind in FileKind
        ]
        lines = sum(result.matching.lines for result in results)
        matched = sum(result.matching.matched for result in results)
        missing = sum(result.matching.missing for result in results)
        run = ReconciliationRunRow(
            id=new_id("rrun"),
            livemode=livemode,
            business_date=business_date,
            lines=lines,
            matched=matched,
            unmatched=lines - matched,
            missing=missing,
            mismatch_ppm=domain.mismatch_ppm(lines, lines - matched, missing),
            exceptions_opened=0,
            files=[_file_counts(result) for result in results],
            faults_injected=_fault_objects(results),
            created_at=utcnow(),
        )
        session.add(run)
        await session.flush()
        for result in results:
            run.exceptions_opened += await _open_exceptions(session, run, result)
        return run

    async def get_run(self, session: AsyncSession, run_id: str) -> ReconciliationRunRow:
        row = await session.get(ReconciliationRunRow, run_id)
        if row is None:
            raise ResourceMissingError.for_object("reconciliation_run", run_id)
        return row

    async def list_runs(
        self, session: AsyncSession, params: ListParams
    ) -> tuple[Sequence[ReconciliationRunRow], bool]:
        return await owned_page(
            session, ReconciliationRunRow, params, owner=(), object_name="reconciliation_run"
        )

    async def get_exception(
        self, session: AsyncSession, exception_id: str, *, lock: bool = False
    ) -> ReconciliationExceptionRow:
        statement = select(ReconciliationExceptionRow).where(
            ReconciliationExceptionRow.id == exception_id
        )
        row = (await session.scalars(statement.with_for_update() if lock else statement)).first()
        if row is None:
            raise ResourceMissingError.for_object("reconciliation_exception", exception_id)
        return row

    async def list_exceptions(
        self, session: AsyncSession, params: ListParams, status: str | None, kind: str | None
    ) -> tuple[Sequence[ReconciliationExceptionRow], bool]:
        filters = []
        if status is not None:
            filters.append(ReconciliationExceptionRow.status == status)
        if kind is not None:
            filters.append(ReconciliationExceptionRow.kind == kind)
        return await owned_page(
            session,
            ReconciliationExceptionRow,
            params,
            owner=(),
            filters=filters,
            object_name="reconciliation_exception",
        )

    async def resolve(
        self, session: AsyncSession, exception_id: str, note: str, resolved_by: str
    ) -> ReconciliationExceptionRow:
        """Resolve an open exception with the operator's note (the row lock makes two
        resolutions at once one resolution and one refusal)."""
        row = await self.get_exception(session, exception_id, lock=True)
        if row.status != "open":
            raise ExceptionAlreadyResolvedError(param="id")
        row.status, row.resolution_note, row.resolved_by = "resolved", note, resolved_by
        row.resolved_at = utcnow()
        return row


def _file_counts(result: FileResult) -> dict[str, Any]:
    matching = result.matching
    return {
        "file": result.kind.value,
        "lines": matching.lines,
        "matched": matching.matched,
        "unmatched": matching.unmatched,
        "missing": matching.missing,
    }


reconciliation_service = ReconciliationService()
