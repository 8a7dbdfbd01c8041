"""The PSP identity tables (migrations 0011 and 0013). Only this package writes them.

Mobile numbers, OTP codes and tokens are never stored in clear: a keyed fingerprint finds a row,
``mobile_sealed`` (the key ring's AES-GCM) is the one place a number can be read back from.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, Text
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


class DeviceRow(Base):
    __tablename__ = "psp_devices"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    payer_id: Mapped[str] = mapped_column(Text)
    device_id: Mapped[str] = mapped_column(Text)  # the client's own id of the device
    name: Mapped[str | None] = mapped_column(Text)
    platform: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)  # active | revoked
    bound_at: Mapped[datetime] = mapped_column(_TIME)
    revoked_at: Mapped[datetime | None] = mapped_column(_TIME)
    revoked_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class BindingAttemptRow(Base):
    __tablename__ = "psp_device_binding_attempts"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    device_id: Mapped[str] = mapped_column(Text)
    payer_id: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)


class DeviceBlockRow(Base):
    __tablename__ = "psp_device_blocks"

    device_id: Mapped[str] = mapped_column(Text, primary_key=True)
    blocked_until: Mapped[datetime] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class DeviceLinkRow(Base):
    __tablename__ = "psp_device_links"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    payer_id: Mapped[str] = mapped_column(Text)
    device_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    platform: Mapped[str | None] = mapped_column(Text)
    session_id: Mapped[str] = mapped_column(Text)  # the new device's session, moved onto it
    status: Mapped[str] = mapped_column(Text)  # pending | approved | declined
    expires_at: Mapped[datetime] = mapped_column(_TIME)
    decided_by_device_id: Mapped[str | None] = mapped_column(Text)
    decided_at: Mapped[datetime | None] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class PasskeyRow(Base):
    __tablename__ = "psp_passkeys"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    payer_id: Mapped[str] = mapped_column(Text)
    credential_id: Mapped[bytes] = mapped_column(LargeBinary)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger)
    aaguid: Mapped[str] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    last_used_at: Mapped[datetime | None] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class PasskeyChallengeRow(Base):
    __tablename__ = "psp_passkey_challenges"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    payer_id: Mapped[str | None] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(Text)  # registration | login | step_up
    challenge: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(_TIME)
    consumed_at: Mapped[datetime | None] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)


class HandoffRow(Base):
    __tablename__ = "psp_handoffs"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    payer_id: Mapped[str] = mapped_column(Text)
    device_id: Mapped[str] = mapped_column(Text)
    secret_fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(_TIME)
    redeemed_at: Mapped[datetime | None] = mapped_column(_TIME)
    session_id: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
