"""The refunds table (migration 0010). Only this module writes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class RefundRow(Base):
    __tablename__ = "refunds"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    charge_id: Mapped[str] = mapped_column(Text)
    payment_intent_id: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    rail: Mapped[str] = mapped_column(Text)
    rail_reference: Mapped[str | None] = mapped_column(Text)
    balance_transaction_id: Mapped[str | None] = mapped_column(Text)
    failure_balance_transaction_id: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB, default=dict)
    checks_made: Mapped[int] = mapped_column(Integer, default=0)
    next_check_at: Mapped[datetime | None] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
