"""The setup_intents table (migration 0025). Only this module writes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class SetupIntentRow(Base):
    __tablename__ = "setup_intents"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(Text)
    usage: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(Text)
    payment_method_id: Mapped[str | None] = mapped_column(Text)
    payment_method_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    description: Mapped[str | None] = mapped_column(Text)
    client_secret: Mapped[str] = mapped_column(Text)
    return_url: Mapped[str | None] = mapped_column(Text)
    next_action: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    last_setup_error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    canceled_at: Mapped[datetime | None] = mapped_column(_TIME)
    # The latest attempt's id (``setatt_…``): the card network's request id for its
    # verification, which callbacks name. ``rail_operation`` 'verify' while the verification
    # is asked and its answer not yet applied (the intent is busy); ``next_check_at`` is when
    # the reconciliation job asks the network again if no one applied it (the process died).
    latest_attempt_id: Mapped[str | None] = mapped_column(Text)
    rail_operation: Mapped[str | None] = mapped_column(Text)
    rail_reference: Mapped[str | None] = mapped_column(Text)
    next_check_at: Mapped[datetime | None] = mapped_column(_TIME)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB)
    # The object that made the intent (a Checkout Session, ``cs_…``; migration 0050), or None
    # for the merchant's own: canceled or updated only through it, its events heard by it.
    owner: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
