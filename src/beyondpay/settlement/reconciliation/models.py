"""Reconciliation's tables (migration 0058). Only this module writes them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class ReconciliationRunRow(Base):
    """One reconciliation of a business date and mode: its counts over the three files and the
    faults the sandbox was asked to inject (empty in normal runs)."""

    __tablename__ = "reconciliation_runs"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean)
    business_date: Mapped[date] = mapped_column(Date)
    lines: Mapped[int] = mapped_column(Integer)
    matched: Mapped[int] = mapped_column(Integer)
    unmatched: Mapped[int] = mapped_column(Integer)
    missing: Mapped[int] = mapped_column(Integer)
    mismatch_ppm: Mapped[int] = mapped_column(Integer)
    exceptions_opened: Mapped[int] = mapped_column(Integer)
    files: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    faults_injected: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(_TIME)


class ReconciliationExceptionRow(Base):
    """A break, once per (mode, file, kind, key, business date): a run twice opens nothing
    twice (the unique index). ``open`` until an operator (or the late row's arrival) resolves
    it with a note."""

    __tablename__ = "reconciliation_exceptions"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean)
    business_date: Mapped[date] = mapped_column(Date)
    file: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text)
    merchant_id: Mapped[str | None] = mapped_column(Text)
    object_id: Mapped[str | None] = mapped_column(Text)
    file_amount: Mapped[int | None] = mapped_column(BigInteger)
    platform_amount: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_by: Mapped[str | None] = mapped_column(Text)
    resolved_at: Mapped[datetime | None] = mapped_column(_TIME)
    run_id: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
