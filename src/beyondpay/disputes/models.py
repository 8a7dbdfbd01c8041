"""The disputes table (migration 0024). Only this module writes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class DisputeRow(Base):
    __tablename__ = "disputes"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    charge_id: Mapped[str] = mapped_column(Text)
    payment_intent_id: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    network_reason_code: Mapped[str | None] = mapped_column(Text)
    rail: Mapped[str] = mapped_column(Text)
    rail_reference: Mapped[str] = mapped_column(Text)  # the rail's id of the dispute
    payment_method_details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    evidence: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    evidence_due_by: Mapped[datetime] = mapped_column(_TIME)
    submission_count: Mapped[int] = mapped_column(Integer, default=0)
    past_due: Mapped[bool] = mapped_column(Boolean, default=False)
    balance_transaction_ids: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
