"""Helpers for settlement windows' tests: instants in IST, a frozen clock, events by type."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import text

from beyondpay.db.session import Database
from beyondpay.settlement.windows.domain import IST


def ist(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=IST)  # type: ignore[misc]


async def events_of_type(database: Database, type: str) -> list[dict[str, Any]]:
    """The events of ``type``, in the order recorded: each ``data.object``."""
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text("SELECT data FROM events WHERE type = :type ORDER BY inserted"), {"type": type}
        )
        return [dict(row["object"]) for row in rows.scalars()]


async def windows(database: Database, merchant_id: str) -> list[dict[str, Any]]:
    """The merchant's recorded windows, oldest first."""
    async with database.unit_of_work() as session:
        rows = await session.execute(
            text(
                "SELECT id, status, closed_at, closed_late, totals, transaction_count,"
                " opens_at, cut_off_at FROM settlement_windows"
                " WHERE merchant_id = :merchant ORDER BY cut_off_at"
            ),
            {"merchant": merchant_id},
        )
        return [dict(row._mapping) for row in rows]
