"""The payouts and payout schedules tables (migration 0056). Only this module writes them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class PayoutScheduleRow(Base):
    """A merchant's payout schedule in one mode; its row lock orders the merchant's payouts."""

    __tablename__ = "payout_schedules"

    merchant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    interval: Mapped[str] = mapped_column(Text)
    delay_days: Mapped[int] = mapped_column(Integer)
    weekly_anchor: Mapped[str | None] = mapped_column(Text)
    monthly_anchor: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class PayoutRow(Base):
    __tablename__ = "payouts"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    automatic: Mapped[bool] = mapped_column(Boolean)
    method: Mapped[str] = mapped_column(Text)
    rail: Mapped[str] = mapped_column(Text)
    destination: Mapped[str] = mapped_column(Text)  # the bank account's id (ba_…)
    description: Mapped[str | None] = mapped_column(Text)
    statement_descriptor: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB, default=dict)
    balance_transaction_id: Mapped[str | None] = mapped_column(Text)
    failure_balance_transaction_id: Mapped[str | None] = mapped_column(Text, default=None)
    failure_code: Mapped[str | None] = mapped_column(Text, default=None)
    failure_message: Mapped[str | None] = mapped_column(Text, default=None)
    original_payout_id: Mapped[str | None] = mapped_column(Text, default=None)
    reversed_by_id: Mapped[str | None] = mapped_column(Text, default=None)
    settlement_window_id: Mapped[str | None] = mapped_column(Text, default=None)
    schedule_period: Mapped[str | None] = mapped_column(Text, default=None)
    rail_reference: Mapped[str | None] = mapped_column(Text, default=None)
    utr: Mapped[str | None] = mapped_column(Text, default=None)
    arrival_at: Mapped[datetime] = mapped_column(_TIME)
    held_until: Mapped[datetime | None] = mapped_column(_TIME, default=None)
    rail_requested_at: Mapped[datetime | None] = mapped_column(_TIME, default=None)
    next_check_at: Mapped[datetime | None] = mapped_column(_TIME, default=None)
    checks_made: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
