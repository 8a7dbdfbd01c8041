"""Settlement windows' tables (migration 0054). Only this module writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class SettlementScheduleRow(Base):
    """A merchant's chosen schedule, per mode: ``speed`` and, for t0, its ``cut_offs``
    (``HH:MM`` in IST, ascending). Its row lock orders every change to the merchant's windows:
    the schedule's update and the job closing a window both take it first."""

    __tablename__ = "settlement_schedules"

    merchant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    speed: Mapped[str] = mapped_column(Text)
    cut_offs: Mapped[list[str]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class SettlementWindowRow(Base):
    """One window of a merchant's chain: each opens at the previous one's cut-off, and at most
    one is ``open`` (a unique index). ``totals``: per currency, the sums of the balance
    transactions that became available in it, written when it closes."""

    __tablename__ = "settlement_windows"

    merchant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    id: Mapped[str] = mapped_column(Text, primary_key=True)
    speed: Mapped[str] = mapped_column(Text)
    opens_at: Mapped[datetime] = mapped_column(_TIME)
    cut_off_at: Mapped[datetime] = mapped_column(_TIME)
    eta: Mapped[datetime] = mapped_column(_TIME)
    status: Mapped[str] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(_TIME, default=None)
    closed_late: Mapped[bool] = mapped_column(Boolean, default=False)
    totals: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    transaction_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(_TIME)
