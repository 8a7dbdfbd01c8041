"""The PSP identity tables (migrations 0011 and 0013). Only this package writes them.

Mobile numbers, OTP codes and tokens are never stored in clear: a keyed fingerprint finds a row,
``mobile_sealed`` (the key ring's AES-GCM) is the one place a number can be read back from.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class PayerRow(Base):
    __tablename__ = "psp_payers"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    mobile_fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    mobile_sealed: Mapped[str] = mapped_column(Text)
    mobile_masked: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)  # active | frozen
    frozen_at: Mapped[datetime | None] = mapped_column(_TIME)
    sessions_valid_after: Mapped[datetime | None] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class OtpRow(Base):
    __tablename__ = "psp_otps"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    mobile_fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    purpose: Mapped[str] = mapped_column(Text)  # signup | login
    code_fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    attempts: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(_TIME)
    consumed_at: Mapped[datetime | None] = mapped_column(_TIME)
    superseded_at: Mapped[datetime | None] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)


class SandboxSmsRow(Base):
    __tablename__ = "psp_sandbox_sms"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    mobile_fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    body_sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)


class SessionRow(Base):
    __tablename__ = "psp_sessions"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    payer_id: Mapped[str] = mapped_column(Text)
    device_id: Mapped[str | None] = mapped_column(Text)
    access_fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    access_expires_at: Mapped[datetime] = mapped_column(_TIME)
    refresh_fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    refresh_expires_at: Mapped[datetime] = mapped_column(_TIME)
    revoked_at: Mapped[datetime | None] = mapped_column(_TIME)
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class RetiredRefreshTokenRow(Base):
    __tablename__ = "psp_retired_refresh_tokens"

    fingerprint: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    session_id: Mapped[str] = mapped_column(Text)
    retired_at: Mapped[datetime] = mapped_column(_TIME)
