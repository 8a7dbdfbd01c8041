"""Reporting's table (migration 0058). Only this module writes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class ReportRunRow(Base):
    """A merchant's report run: ``pending`` until its job writes the result file
    (``succeeded``) or gives up (``failed``, with ``error``)."""

    __tablename__ = "report_runs"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    report_type: Mapped[str] = mapped_column(Text)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    result_file_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    succeeded_at: Mapped[datetime | None] = mapped_column(_TIME)
