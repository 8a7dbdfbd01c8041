"""The merchants module's tables (migration 0003). Only this module writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Boolean, LargeBinary, Text
from sqlalchemy.dialects.postgresql import CIDR, JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class MerchantRow(Base):
    __tablename__ = "merchants"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    status_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
    # Migration 0057 (Connect): a connected account names the platform that created it and the
    # mode it was created in; a merchant that signed up by itself has neither.
    platform_id: Mapped[str | None] = mapped_column(Text, default=None)
    livemode: Mapped[bool | None] = mapped_column(Boolean, default=None)
    account_type: Mapped[str | None] = mapped_column(Text, default=None)
    country: Mapped[str | None] = mapped_column(Text, default=None)
    email: Mapped[str | None] = mapped_column(Text, default=None)
    business_type: Mapped[str | None] = mapped_column(Text, default=None)
    business_profile: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    capabilities: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB, default=dict)
    deleted_at: Mapped[datetime | None] = mapped_column(_TIME, default=None)


class KycDocumentRow(Base):
    __tablename__ = "kyc_documents"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    details_sealed: Mapped[str] = mapped_column(Text)
    details_masked: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(Text)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    reviewed_at: Mapped[datetime | None] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    ring_key_id: Mapped[str] = mapped_column(Text)
    redacted: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    allowed_ips: Mapped[list[str] | None] = mapped_column(ARRAY(CIDR))
    created_at: Mapped[datetime] = mapped_column(_TIME)
    expires_at: Mapped[datetime | None] = mapped_column(_TIME)
    revoked_at: Mapped[datetime | None] = mapped_column(_TIME)
    last_used_at: Mapped[datetime | None] = mapped_column(_TIME)
    rolled_to: Mapped[str | None] = mapped_column(Text)
