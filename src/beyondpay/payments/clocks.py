"""Payments on test clocks: what time it is for a payment whose customer is on a clock, and
what happens to the clock's payments when it advances (``test_clocks.timeline``).

A payment for a customer on a clock is stamped at the clock's frozen time: the intent's and the
charge's ``created``, and its balance transaction's ``created`` and ``available_on`` (so funds
become available some days of the *clock's* time later). Such a balance transaction names its
clock: the real-time job (``balance.release_due_funds``) leaves it alone, and the clock's
advances make it available (:func:`release_funds_on_clock`, ``Stage.funds``, wired in
``app.wire_modules``). Live mode has no clocks, and asks nothing.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.customers.service import customer_service
from beyondpay.payments import postings
from beyondpay.payments.domain import Chart
from beyondpay.payments.models import BalanceTransactionRow
from beyondpay.test_clocks.domain import ClockTime
from beyondpay.test_clocks.timeline import Interval

RELEASES_PER_BATCH_MAX: Final = 500


async def clock_time(
    session: AsyncSession, livemode: bool, customer_id: str | None
) -> ClockTime | None:
    """The clock of a payment's customer, if it has one (never in live mode)."""
    if livemode or customer_id is None:
        return None
    return await customer_service.clock_time(session, customer_id)


async def release_funds_on_clock(session: AsyncSession, interval: Interval) -> None:
    """Makes available, in ``available_on`` order, the funds of the clock's payments whose
    ``available_on`` falls by the interval's end. Idempotent: only pending rows are taken, and
    the ledger's transfer id (``<txn>:available``) moves nothing twice."""
    while True:
        rows = list(
            (
                await session.execute(
                    select(BalanceTransactionRow)
                    .where(
                        BalanceTransactionRow.test_clock == interval.clock_id,
                        BalanceTransactionRow.status == "pending",
                        BalanceTransactionRow.available_on <= interval.end,
                    )
                    .order_by(BalanceTransactionRow.available_on, BalanceTransactionRow.id)
                    .limit(RELEASES_PER_BATCH_MAX)
                    .with_for_update()
                )
            ).scalars()
        )
        for row in rows:
            chart = Chart(row.merchant_id, row.livemode, row.currency)
            await postings.make_available(session, chart, row.id, row.net)
            row.status = "available"
        await session.flush()
        if len(rows) < RELEASES_PER_BATCH_MAX:
            return
