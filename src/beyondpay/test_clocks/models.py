"""The test_clocks table (migration 0022). Only this module writes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class TestClockRow(Base):
    __tablename__ = "test_clocks"
    __test__ = False  # not a pytest class, whatever its name

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str | None] = mapped_column(Text)
    frozen_time: Mapped[datetime] = mapped_column(_TIME)
    status: Mapped[str] = mapped_column(Text)
    target_frozen_time: Mapped[datetime | None] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    deletes_after: Mapped[datetime] = mapped_column(_TIME)
    deleted_at: Mapped[datetime | None] = mapped_column(_TIME)
