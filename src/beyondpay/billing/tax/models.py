"""The tax rates and tax ids tables (migration 0031). Only this module writes them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class TaxRateRow(Base):
    __tablename__ = "tax_rates"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    display_name: Mapped[str] = mapped_column(Text)
    # The percentage in basis points of a percent: 18% is 1800 (never a float).
    rate_basis_points: Mapped[int] = mapped_column(Integer)
    inclusive: Mapped[bool] = mapped_column(Boolean)
    active: Mapped[bool] = mapped_column(Boolean)
    country: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(Text)
    jurisdiction: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    tax_type: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(_TIME)


class TaxIdRow(Base):
    __tablename__ = "tax_ids"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    owner_type: Mapped[str] = mapped_column(Text)  # self (the merchant) or customer
    customer_id: Mapped[str | None] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    value: Mapped[str] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(Text)
    verification_status: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    deleted_at: Mapped[datetime | None] = mapped_column(_TIME, default=None)
