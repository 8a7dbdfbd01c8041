"""Payment links' table (migration 0049). Only this module writes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class PaymentLinkRow(Base):
    """A Payment Link: its line items (price, quantity, in their order) as JSON, and the count
    of its sessions that completed (under the row's lock: ``service.count_completed``)."""

    __tablename__ = "payment_links"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    url_token: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean)
    currency: Mapped[str] = mapped_column(Text)
    line_items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    payment_method_types: Mapped[list[str] | None] = mapped_column(JSONB)
    after_completion_type: Mapped[str] = mapped_column(Text)
    redirect_url: Mapped[str | None] = mapped_column(Text)
    custom_message: Mapped[str | None] = mapped_column(Text)
    completed_sessions_limit: Mapped[int | None] = mapped_column(Integer)
    completed_sessions: Mapped[int] = mapped_column(Integer, default=0)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
