"""The customer portal's tables (migration 0035). Only this part writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, LargeBinary, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class PortalConfigurationRow(Base):
    __tablename__ = "billing_portal_configurations"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    active: Mapped[bool] = mapped_column(Boolean)
    is_default: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str | None] = mapped_column(Text)
    default_return_url: Mapped[str | None] = mapped_column(Text)
    business_profile: Mapped[dict[str, Any]] = mapped_column(JSONB)
    features: Mapped[dict[str, Any]] = mapped_column(JSONB)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class PortalSessionRow(Base):
    __tablename__ = "billing_portal_sessions"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    customer_id: Mapped[str] = mapped_column(Text)
    configuration_id: Mapped[str] = mapped_column(Text)
    locale: Mapped[str | None] = mapped_column(Text)
    return_url: Mapped[str | None] = mapped_column(Text)
    # Keyed fingerprints (HMAC under the key ring) of the link's token and of the visit's
    # secret: neither is kept in clear, so a copy of the table opens no portal.
    link_fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    link_expires_at: Mapped[datetime] = mapped_column(_TIME)
    opened_at: Mapped[datetime | None] = mapped_column(_TIME)
    visit_fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary)
    visit_expires_at: Mapped[datetime | None] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)


class PortalActionRow(Base):
    """A form the portal page posted, by its one-time id: what it did (``subject_id``: the
    payment method or subscription it was about; ``setup_intent_id``: the card's setup)."""

    __tablename__ = "billing_portal_actions"

    session_id: Mapped[str] = mapped_column(Text, primary_key=True)
    form_id: Mapped[str] = mapped_column(Text, primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    subject_id: Mapped[str | None] = mapped_column(Text)
    setup_intent_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
