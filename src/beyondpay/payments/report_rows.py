"""Balance transactions as reports read them (reporting's balance summary and itemized
reports): those of an interval, and the balance before it. Reads only; never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.payments.models import BalanceTransactionRow as Row

REPORT_ROWS_MAX: Final = 100_000


@dataclass(frozen=True)
class ReportedTransaction:
    id: str
    created_at: datetime
    available_on: datetime
    currency: str
    amount: int
    fee: int
    net: int
    reporting_category: str
    source: str
    description: str | None


async def balance_transactions_between(
    session: AsyncSession,
    merchant_id: str,
    livemode: bool,
    currency: str,
    start: datetime,
    end: datetime,
) -> list[ReportedTransaction]:
    """The merchant's balance transactions created in [start, end), oldest first (at most
    ``REPORT_ROWS_MAX``: a longer interval is refused before)."""
    rows = await session.scalars(
        select(Row)
        .where(
            Row.merchant_id == merchant_id,
            Row.livemode == livemode,
            Row.currency == currency,
            Row.created_at >= start,
            Row.created_at < end,
        )
        .order_by(Row.created_at, Row.id)
        .limit(REPORT_ROWS_MAX)
    )
    return [
        ReportedTransaction(
            row.id,
            row.created_at,
            row.available_on,
            row.currency,
            row.amount,
            row.fee,
            row.net,
            row.reporting_category,
            row.source,
            row.description,
        )
        for row in rows
    ]


async def balance_before(
    session: AsyncSession, merchant_id: str, livemode: bool, currency: str, at: datetime
) -> int:
    """The sum of the ``net`` of the merchant's balance transactions created before ``at``."""
    total = await session.scalar(
        select(func.coalesce(func.sum(Row.net), 0)).where(
            Row.merchant_id == merchant_id,
            Row.livemode == livemode,
            Row.currency == currency,
            Row.created_at < at,
        )
    )
    return int(total or 0)
