"""The risk tables (migration 0018). Only this module writes them.

The feature counters (``risk_feature_*``) have no mapping: the PostgreSQL feature store reads
and writes them with one statement each on the driver (risk/store.py), for speed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class AssessmentRow(Base):
    __tablename__ = "risk_assessments"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    scope: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    payment_id: Mapped[str] = mapped_column(Text)
    rail: Mapped[str] = mapped_column(Text)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    segment: Mapped[str] = mapped_column(Text)
    score: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(Text)
    decline_code: Mapped[str | None] = mapped_column(Text)
    rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    contributions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    features: Mapped[dict[str, float]] = mapped_column(JSONB)
    model_version: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)


class RuleRow(Base):
    __tablename__ = "risk_rules"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    scope: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    action: Mapped[str] = mapped_column(Text)
    segment: Mapped[str | None] = mapped_column(Text)
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    reason: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class BlocklistItemRow(Base):
    __tablename__ = "risk_blocklist_items"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    scope: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(Text)
    value_key: Mapped[str] = mapped_column(Text)
    display: Mapped[str] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
