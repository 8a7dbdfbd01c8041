"""The sandbox rails' settlement files: what each rail settled on an IST business date, read
from the sandbox's own rows (the formats and the fault injection are ``rails.file_domain``).

- card: authorizations with a captured amount (one ``capture`` line for it) and refunds that
  succeeded, by the network's reference;
- UPI: payments to merchants the switch completed (collects, intents and pushes to a merchant's
  VPA), by the UPI transaction id;
- payouts: payouts paid, by their UTR (or RRN).

A transaction belongs to the day it was made (its row's ``created_at`` in IST): a capture made
later than its authorization still settles with it in the sandbox.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.rails.file_domain import FileKind, RailRecord, day_bounds
from beyondpay.rails.models import SandboxPayoutRow, SandboxRailOperationRow

Row = SandboxRailOperationRow


def _card_record(row: Row) -> RailRecord:
    capture = row.operation != "refund"
    return RailRecord(
        kind=FileKind.card,
        key=row.reference,
        record_type="capture" if capture else "refund",
        merchant_id=row.merchant_id,
        amount_minor=row.captured_minor if capture else row.amount_minor,
        currency=row.currency,
        occurred_at=row.created_at,
    )


def _upi_record(row: Row) -> RailRecord:
    return RailRecord(
        kind=FileKind.upi,
        key=str(row.details.get("upi_transaction_id", row.reference)),
        record_type="payment",
        merchant_id=row.merchant_id,
        amount_minor=row.amount_minor,
        currency=row.currency,
        occurred_at=row.created_at,
        rrn=str(row.details.get("rrn", "")),
        response_code=row.code or "00",
        payer_masked=row.instrument_masked or "",
        payee_masked=f"merchant {row.merchant_id}",
    )


def _payout_record(row: SandboxPayoutRow) -> RailRecord:
    return RailRecord(
        kind=FileKind.payouts,
        key=row.utr,
        record_type=f"{row.rail} payout",
        merchant_id=row.merchant_id,
        amount_minor=row.amount_minor,
        currency=row.currency,
        occurred_at=row.created_at,
        payee_masked=row.destination_masked,
    )


async def rail_records(
    session: AsyncSession, kind: FileKind, business_date: date, livemode: bool
) -> list[RailRecord]:
    """What the rail of ``kind`` settled on ``business_date`` in a mode."""
    start, end = day_bounds(business_date)
    if kind == FileKind.payouts:
        payouts = await session.scalars(
            select(SandboxPayoutRow).where(
                SandboxPayoutRow.livemode == livemode,
                SandboxPayoutRow.status == "paid",
                SandboxPayoutRow.created_at >= start,
                SandboxPayoutRow.created_at < end,
            )
        )
        return [_payout_record(row) for row in payouts]
    in_day = (Row.livemode == livemode, Row.created_at >= start, Row.created_at < end)
    if kind == FileKind.card:
        rows = await session.scalars(
            select(Row).where(
                Row.rail == "card",
                *in_day,
                or_(
                    (Row.operation == "authorize") & (Row.captured_minor > 0),
                    (Row.operation == "refund") & (Row.status == "succeeded"),
                ),
            )
        )
        return [_card_record(row) for row in rows]
    rows = await session.scalars(
        select(Row).where(
            Row.rail == "upi",
            *in_day,
            Row.operation.in_(("authorize", "push")),
            Row.status == "succeeded",
            Row.merchant_id.is_not(None),
        )
    )
    return [_upi_record(row) for row in rows]


async def payouts_by_utr(
    session: AsyncSession, livemode: bool, utrs: list[str]
) -> dict[str, SandboxPayoutRow]:
    rows = await session.scalars(
        select(SandboxPayoutRow).where(
            SandboxPayoutRow.livemode == livemode, SandboxPayoutRow.utr.in_(utrs)
        )
    )
    return {row.utr: row for row in rows}
