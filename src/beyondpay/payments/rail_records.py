"""Charges as the platform recorded them, for reconciliation against the rails' files: by the
rail's key (the card network's reference, the UPI transaction id), and those of an IST day.
Reads only; never commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from beyondpay.payments.models import ChargeRow

UPI_TRANSACTION_ID = "upi_transaction_id"


@dataclass(frozen=True)
class PlatformRecord:
    """One money movement the platform recorded on a rail: ``key`` is the rail's, ``object_id``
    ours (a charge or a refund), ``ledger_transfer_id`` the transfer that moved it."""

    key: str
    object_id: str
    merchant_id: str
    amount_minor: int
    currency: str
    occurred_at: datetime
    ledger_transfer_id: str


def _key_column(rail: str) -> ColumnElement[Any]:
    if rail == "upi":
        column: ColumnElement[Any] = ChargeRow.rail_details[UPI_TRANSACTION_ID].astext
        return column
    return ChargeRow.rail_reference.expression


def _record(row: ChargeRow) -> PlatformRecord:
    key = row.rail_details.get(UPI_TRANSACTION_ID) if row.rail == "upi" else row.rail_reference
    return PlatformRecord(
        key=str(key),
        object_id=row.id,
        merchant_id=row.merchant_id,
        amount_minor=row.amount_captured,
        currency=row.currency,
        occurred_at=row.created_at,
        ledger_transfer_id=f"{row.id}:capture",
    )


async def captured_charges(
    session: AsyncSession,
    rail: str,
    livemode: bool,
    *,
    keys: Sequence[str] = (),
    between: tuple[datetime, datetime] | None = None,
) -> list[PlatformRecord]:
    """Charges captured on ``rail``: those with the rail's ``keys``, or made ``between``."""
    statement = select(ChargeRow).where(
        ChargeRow.rail == rail,
        ChargeRow.livemode == livemode,
        ChargeRow.captured.is_(True),
        ChargeRow.amount_captured > 0,
    )
    if between is not None:
        statement = statement.where(
            ChargeRow.created_at >= between[0], ChargeRow.created_at < between[1]
        )
    else:
        statement = statement.where(_key_column(rail).in_(list(keys)))
    return [_record(row) for row in await session.scalars(statement)]
