"""Reporting's use cases: the report types (a registry other modules add to), report runs
created pending with their job deferred in the same transaction, and the job computing them
into a File. Never commits.

Built in: ``balance.summary.1`` (starting balance, activity by reporting category, ending
balance, from balance transactions), ``balance_change_from_activity.itemized.1`` (one line per
balance transaction) and ``reconciliation.itemized.1`` (the same lines with the payout each went
out in: ``automatic_payout_id``, from what the payouts part registers, ``register_payouts``;
payouts also adds ``payouts.itemized.1``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.db import jobs
from beyondpay.db.pagination import ListParams, created_conditions, scoped, scoped_page
from beyondpay.files.schemas import file_object
from beyondpay.files.service import file_service, find_file
from beyondpay.kit.clock import utcnow
from beyondpay.kit.errors import ResourceMissingError
from beyondpay.kit.ids import new_id
from beyondpay.merchants.domain import Caller
from beyondpay.payments.service import (
    ReportedTransaction,
    balance_before,
    balance_transactions_between,
)
from beyondpay.reporting import domain
from beyondpay.reporting.errors import ReportParameterInvalidError, ReportTypeUnknownError
from beyondpay.reporting.events import ReportRunEvent, record
from beyondpay.reporting.models import ReportRunRow
from beyondpay.reporting.schemas import ReportRunCreateParams

REPORT_FILE_PURPOSE: Final = "finance_report_run"
# Data is available from the platform's first day to now (Stripe's data_available_*).
DATA_AVAILABLE_START: Final = datetime(2020, 1, 1, tzinfo=UTC)
REPORT_TYPES_UPDATED: Final = datetime(2026, 12, 7, tzinfo=UTC)


@dataclass(frozen=True)
class ReportRequest:
    merchant_id: str
    livemode: bool
    currency: str
    start: datetime
    end: datetime


Builder = Callable[[AsyncSession, ReportRequest], Awaitable[list[dict[str, str]]]]


@dataclass(frozen=True)
class ReportDefinition:
    id: str
    name: str
    columns: tuple[str, ...]  # every column it can write, the default ones first
    default_columns: tuple[str, ...]
    build: Builder


_report_types: dict[str, ReportDefinition] = {}


def register_report_type(definition: ReportDefinition) -> None:
    """Offer a report type (the payouts part adds ``payouts.itemized.1``). Twice: the last."""
    _report_types[definition.id] = definition


def report_types() -> list[ReportDefinition]:
    return [_report_types[key] for key in sorted(_report_types)]


async def _summary(session: AsyncSession, request: ReportRequest) -> list[dict[str, str]]:
    args = (session, request.merchant_id, request.livemode, request.currency)
    starting = await balance_before(*args, request.start)
    activity = await balance_transactions_between(*args, request.start, request.end)
    return domain.balance_summary(
        starting, [(t.reporting_category, t.net) for t in activity], request.currency
    )


# What the payouts part tells reports, registered from app.py (reporting and settlement are
# siblings): the merchant's payout lines in an interval, and which automatic payout took the
# balance transactions available in a span ``[from, to)`` (``from`` None: from the start).
PayoutLines = Callable[
    [AsyncSession, str, bool, str, datetime, datetime], Awaitable[list[dict[str, object]]]
]
PayoutSpans = Callable[
    [AsyncSession, str, bool, str], Awaitable[list[tuple[datetime | None, datetime, str]]]
]
_payout_spans: list[PayoutSpans] = []


def register_payouts(lines: PayoutLines, spans: PayoutSpans, columns: tuple[str, ...]) -> None:
    """Adds ``payouts.itemized.1`` and fills ``automatic_payout_id`` in
    ``reconciliation.itemized.1``. Twice: the last."""

    async def build(session: AsyncSession, request: ReportRequest) -> list[dict[str, str]]:
        found = await lines(
            session,
            request.merchant_id,
            request.livemode,
            request.currency,
            request.start,
            request.end,
        )
        return [{key: domain.cell(value) for key, value in line.items()} for line in found]

    register_report_type(
        ReportDefinition("payouts.itemized.1", "Payouts (itemized)", columns, columns, build)
    )
    _payout_spans[:] = [spans]


async def _payout_of(session: AsyncSession, request: ReportRequest) -> Callable[[datetime], str]:
    spans = (
        await _payout_spans[0](session, request.merchant_id, request.livemode, request.currency)
        if _payout_spans
        else []
    )

    def payout_of(available_on: datetime) -> str:
        for start, end, payout_id in spans:
            if (start is None or start <= available_on) and available_on < end:
                return payout_id
        return ""

    return payout_of


def _itemized_row(transaction: ReportedTransaction) -> dict[str, str]:
    return {
        "balance_transaction_id": transaction.id,
        "created_utc": domain.utc_text(transaction.created_at),
        "available_on_utc": domain.utc_text(transaction.available_on),
        "currency": transaction.currency,
        "gross": domain.decimal(transaction.amount),
        "fee": domain.decimal(transaction.fee),
        "net": domain.decimal(transaction.net),
        "reporting_category": transaction.reporting_category,
        "source_id": transaction.source,
        "description": transaction.description or "",
        "automatic_payout_id": "",  # reconciliation.itemized.1 fills it (_reconciliation)
    }


async def _itemized(session: AsyncSession, request: ReportRequest) -> list[dict[str, str]]:
    args = (session, request.merchant_id, request.livemode, request.currency)
    found = await balance_transactions_between(*args, request.start, request.end)
    return [_itemized_row(transaction) for transaction in found]


async def _reconciliation(session: AsyncSession, request: ReportRequest) -> list[dict[str, str]]:
    """The itemized lines, each with the automatic payout that took it (when one did)."""
    args = (session, request.merchant_id, request.livemode, request.currency)
    found = await balance_transactions_between(*args, request.start, request.end)
    payout_of = await _payout_of(session, request)
    return [
        {**_itemized_row(transaction), "automatic_payout_id": payout_of(transaction.available_on)}
        for transaction in found
    ]


ITEMIZED_COLUMNS: Final = (
    "balance_transaction_id", "created_utc", "available_on_utc", "currency", "gross", "fee",
    "net", "reporting_category", "source_id", "description",
)  # fmt: skip
for _built_in in (
    ReportDefinition(
        "balance.summary.1",
        "Balance summary",
        ("category", "description", "net_amount", "currency"),
        ("category", "description", "net_amount", "currency"),
        _summary,
    ),
    ReportDefinition(
        "balance_change_from_activity.itemized.1",
        "Balance change from activity (itemized)",
        ITEMIZED_COLUMNS,
        ITEMIZED_COLUMNS,
        _itemized,
    ),
    ReportDefinition(
        "reconciliation.itemized.1",
        "Reconciliation (itemized): each balance transaction and its payout",
        (*ITEMIZED_COLUMNS, "automatic_payout_id"),
        (*ITEMIZED_COLUMNS, "automatic_payout_id"),
        _reconciliation,
    ),
):
    register_report_type(_built_in)


def _definition(report_type: str, param: str = "report_type") -> ReportDefinition:
    found = _report_types.get(report_type)
    if found is None:
        raise ReportTypeUnknownError(f"No such report type: {report_type}", param=param)
    return found


def _checked_parameters(params: ReportRunCreateParams) -> dict[str, Any]:
    definition = _definition(params.report_type)
    given = params.parameters
    if given.interval_start >= given.interval_end:
        raise ReportParameterInvalidError(
            "interval_end must be after interval_start.", param="parameters[interval_end]"
        )
    if given.interval_end > int(utcnow().timestamp()):
        raise ReportParameterInvalidError(
            "interval_end is after the data available.", param="parameters[interval_end]"
        )
    columns = list(given.columns or definition.default_columns)
    unknown = [column for column in columns if column not in definition.columns]
    if unknown or not columns:
        raise ReportParameterInvalidError(
            f"Unknown columns: {', '.join(unknown)}.", param="parameters[columns]"
        )
    return {
        "interval_start": given.interval_start,
        "interval_end": given.interval_end,
        "currency": given.currency.lower(),
        "columns": columns,
    }


class ReportingService:
    def report_type(self, report_type_id: str) -> ReportDefinition:
        found = _report_types.get(report_type_id)
        if found is None:
            raise ResourceMissingError.for_object("reporting.report_type", report_type_id)
        return found

    async def create(
        self, session: AsyncSession, caller: Caller, params: ReportRunCreateParams
    ) -> ReportRunRow:
        """A pending run, its job deferred in this transaction (the job computes it)."""
        from beyondpay.reporting.tasks import run_report

        row = ReportRunRow(
            id=new_id("frr"),
            merchant_id=caller.merchant,
            livemode=caller.livemode,
            report_type=params.report_type,
            parameters=_checked_parameters(params),
            status="pending",
            created_at=utcnow(),
        )
        session.add(row)
        await session.flush()
        await jobs.defer(session, run_report, report_run_id=row.id)
        return row

    async def get(self, session: AsyncSession, caller: Caller, run_id: str) -> ReportRunRow:
        statement = scoped(
            ReportRunRow, caller.merchant, caller.livemode, ReportRunRow.id == run_id
        )
        row: ReportRunRow | None = (await session.scalars(statement)).first()
        if row is None:
            raise ResourceMissingError.for_object("reporting.report_run", run_id)
        return row

    async def list(
        self, session: AsyncSession, caller: Caller, params: ListParams
    ) -> tuple[Sequence[ReportRunRow], bool]:
        return await scoped_page(
            session,
            ReportRunRow,
            caller.merchant,
            caller.livemode,
            params,
            *created_conditions(ReportRunRow.created_at, params.created),
            object_name="reporting.report_run",
        )

    async def execute(self, session: AsyncSession, run_id: str) -> ReportRunRow | None:
        """The job: compute a pending run into its file. A run no longer pending is left alone
        (the job run twice); the row lock makes two at once compute it once."""
        row = (
            await session.scalars(
                select(ReportRunRow).where(ReportRunRow.id == run_id).with_for_update()
            )
        ).first()
        if row is None or row.status != "pending":
            return None
        definition = _report_types.get(row.report_type)
        if definition is None:
            return await self._finish(session, row, error="The report type is no longer offered.")
        parameters = row.parameters
        request = ReportRequest(
            row.merchant_id,
            row.livemode,
            parameters["currency"],
            datetime.fromtimestamp(parameters["interval_start"], UTC),
            datetime.fromtimestamp(parameters["interval_end"], UTC),
        )
        rows = await definition.build(session, request)
        contents = domain.render_csv(parameters["columns"], rows)
        stored = await file_service.create(
            session,
            merchant_id=row.merchant_id,
            livemode=row.livemode,
            purpose=REPORT_FILE_PURPOSE,
            filename=f"{row.report_type}_{row.id}.csv",
            contents=contents,
        )
        row.result_file_id = stored.id
        return await self._finish(session, row, error=None)

    async def _finish(
        self, session: AsyncSession, row: ReportRunRow, *, error: str | None
    ) -> ReportRunRow:
        row.status, row.error = ("failed", error) if error else ("succeeded", None)
        row.succeeded_at = None if error else utcnow()
        await session.flush()
        await record(
            session,
            merchant_id=row.merchant_id,
            livemode=row.livemode,
            type=ReportRunEvent.failed if error else ReportRunEvent.succeeded,
            object=await report_run_object(session, row),
        )
        return row


async def report_run_object(session: AsyncSession, row: ReportRunRow) -> dict[str, Any]:
    result = None
    if row.result_file_id is not None:
        stored = await find_file(session, row.merchant_id, row.livemode, row.result_file_id)
        result = None if stored is None else file_object(stored)
    return {
        "id": row.id,
        "object": "reporting.report_run",
        "created": int(row.created_at.timestamp()),
        "error": row.error,
        "livemode": row.livemode,
        "parameters": row.parameters,
        "report_type": row.report_type,
        "result": result,
        "status": row.status,
        "succeeded_at": None if row.succeeded_at is None else int(row.succeeded_at.timestamp()),
    }


def report_type_object(definition: ReportDefinition, livemode: bool) -> dict[str, Any]:
    return {
        "id": definition.id,
        "object": "reporting.report_type",
        "data_available_start": int(DATA_AVAILABLE_START.timestamp()),
        "data_available_end": int(utcnow().timestamp()),
        "default_columns": list(definition.default_columns),
        "livemode": livemode,
        "name": definition.name,
        "updated": int(REPORT_TYPES_UPDATED.timestamp()),
        "version": int(definition.id.rsplit(".", 1)[-1]),
    }


reporting_service = ReportingService()
