"""What payouts tell Stripe's reports (reporting's registry, wired in app.py: reporting and
settlement are siblings and import neither): ``payouts.itemized.1``, one line per payout, and
which automatic payout took each balance transaction (``reconciliation.itemized.1``'s
``automatic_payout_id``). Read only.

An automatic payout takes the balance transactions that became available in what it paid: a
daily payout its window (``opens_at`` to ``cut_off_at``); a weekly or monthly one everything
since the cut-off of the merchant's automatic payout before it. Failed and canceled payouts
took nothing (their money came back to the balance)."""

from __future__ import annotations

from datetime import datetime
from typing import Final

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.settlement.payouts.domain import Status, trace_id
from beyondpay.settlement.payouts.models import PayoutRow
from beyondpay.settlement.windows.service import window_spans

PAYOUTS_ITEMIZED_COLUMNS: Final = (
    "payout_id", "created_utc", "arrival_date_utc", "currency", "amount", "status",
    "automatic", "rail", "trace_id", "destination", "settlement_window", "failure_code",
    "original_payout", "description",
)  # fmt: skip
# (from, to, payout): balance transactions available in [from, to) went out in ``payout``.
Span = tuple[datetime | None, datetime, str]


def _line(payout: PayoutRow) -> dict[str, object]:
    """The payout's report line, unformatted: reporting writes amounts (minor units, ``int``)
    as decimals and instants as UTC text."""
    return {
        "payout_id": payout.id,
        "created_utc": payout.created_at,
        "arrival_date_utc": payout.arrival_at,
        "currency": payout.currency,
        "amount": payout.amount,
        "status": payout.status,
        "automatic": "true" if payout.automatic else "false",
        "rail": payout.rail,
        "trace_id": trace_id(payout.utr, payout.status)["value"] or "",
        "destination": payout.destination,
        "settlement_window": payout.settlement_window_id or "",
        "failure_code": payout.failure_code or "",
        "original_payout": payout.original_payout_id or "",
        "description": payout.description or "",
    }


async def payouts_itemized(
    session: AsyncSession,
    merchant_id: str,
    livemode: bool,
    currency: str,
    start: datetime,
    end: datetime,
) -> list[dict[str, object]]:
    """The merchant's payouts created in [start, end), oldest first."""
    rows = await session.execute(
        select(PayoutRow)
        .where(
            PayoutRow.merchant_id == merchant_id,
            PayoutRow.livemode == livemode,
            PayoutRow.currency == currency,
            PayoutRow.created_at >= start,
            PayoutRow.created_at < end,
        )
        .order_by(PayoutRow.created_at, PayoutRow.id)
    )
    return [_line(payout) for payout in rows.scalars()]


async def automatic_payout_spans(
    session: AsyncSession, merchant_id: str, livemode: bool, currency: str
) -> list[Span]:
    """What each of the merchant's automatic payouts took (see the module's docstring)."""
    rows = await session.execute(
        select(PayoutRow.id, PayoutRow.settlement_window_id, PayoutRow.schedule_period).where(
            PayoutRow.merchant_id == merchant_id,
            PayoutRow.livemode == livemode,
            PayoutRow.currency == currency,
            PayoutRow.automatic.is_(True),
            PayoutRow.settlement_window_id.is_not(None),
            PayoutRow.status.not_in([Status.failed.value, Status.canceled.value]),
        )
    )
    payouts = rows.all()
    spans_of = await window_spans(
        session, merchant_id, livemode, [window for _, window, _ in payouts if window]
    )
    spans: list[Span] = []
    previous_cut_off: datetime | None = None
    ordered = sorted(
        ((spans_of[window], payout, period) for payout, window, period in payouts if window),
        key=lambda item: item[0][1],
    )
    for (opens_at, cut_off_at), payout_id, period in ordered:
        daily = (period or "").startswith("window:")
        spans.append((opens_at if daily else previous_cut_off, cut_off_at, payout_id))
        previous_cut_off = cut_off_at
    return spans
