"""The sandbox rails' table (migrations 0008 and 0012). Only this module writes it.

One row per operation a sandbox rail received (authorize, capture, void, refund, and the UPI
switch's push), keyed by the rail's reference and unique per (rail, operation, caller's request
id). Instruments are kept as
a keyed fingerprint and a masked form: never a card number, a CVC or a VPA.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, LargeBinary, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class SandboxRailOperationRow(Base):
    __tablename__ = "sandbox_rail_operations"

    reference: Mapped[str] = mapped_column(Text, primary_key=True)
    rail: Mapped[str] = mapped_column(Text)
    operation: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str] = mapped_column(Text)
    parent_reference: Mapped[str | None] = mapped_column(Text)
    merchant_id: Mapped[str | None] = mapped_column(Text)  # None: a push between bank accounts
    livemode: Mapped[bool] = mapped_column(Boolean)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    # What the sandbox decided to do with this operation (from the test value it was given).
    scenario: Mapped[str] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(Text)
    failure_code: Mapped[str | None] = mapped_column(Text)
    decline_code: Mapped[str | None] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    action_type: Mapped[str | None] = mapped_column(Text)
    action_expires_at: Mapped[datetime | None] = mapped_column(_TIME)
    # When the rail answers by itself (a payer's decision, an asynchronous refund), and with
    # which of its codes.
    resolves_at: Mapped[datetime | None] = mapped_column(_TIME)
    final_code: Mapped[str | None] = mapped_column(Text)
    check_after: Mapped[datetime | None] = mapped_column(_TIME)
    status_checks: Mapped[int] = mapped_column(Integer, default=0)
    callbacks_sent: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_callback: Mapped[bool] = mapped_column(Boolean, default=False)
    # Authorizations: manual capture holds the amount; hold_state held / captured / voided.
    capture_method: Mapped[str | None] = mapped_column(Text)
    hold_state: Mapped[str | None] = mapped_column(Text)
    captured_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    instrument_fingerprint: Mapped[bytes | None] = mapped_column(LargeBinary)
    instrument_masked: Mapped[str | None] = mapped_column(Text)
    instrument_brand: Mapped[str | None] = mapped_column(Text)
    payer_account_id: Mapped[str | None] = mapped_column(Text)
    payee_account_id: Mapped[str | None] = mapped_column(Text)  # a push's payee
    return_url: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class SandboxPayoutRow(Base):
    """One payout the sandbox payout rail received (migration 0055), unique per caller's
    request id (the payout's id): the same id is the same payout, paid at most once. The
    destination is kept as a keyed fingerprint and a masked form: never an account number or
    a VPA."""

    __tablename__ = "sandbox_payouts"

    reference: Mapped[str] = mapped_column(Text, primary_key=True)
    request_id: Mapped[str] = mapped_column(Text, unique=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    rail: Mapped[str] = mapped_column(Text)  # imps | neft | rtgs | upi
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)  # pending | in_transit | paid | failed
    # paid | deemed | a failure code: what the test value makes the rail do
    scenario: Mapped[str] = mapped_column(Text)
    failure_code: Mapped[str | None] = mapped_column(Text)
    failure_message: Mapped[str | None] = mapped_column(Text)
    utr: Mapped[str] = mapped_column(Text)
    destination_fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    destination_masked: Mapped[str] = mapped_column(Text)
    ifsc: Mapped[str | None] = mapped_column(Text)  # a bank account's branch (not secret)
    arrival_at: Mapped[datetime] = mapped_column(_TIME)
    # pending: when the rail settles it (a NEFT batch); in_transit: when a status check may
    # resolve it.
    settles_at: Mapped[datetime | None] = mapped_column(_TIME)
    check_after: Mapped[datetime | None] = mapped_column(_TIME)
    status_checks: Mapped[int] = mapped_column(Integer, default=0)
    # The status the payout listeners last heard (the caller's own answer counts as heard):
    # a settlement run twice tells them nothing twice.
    notified_status: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class SandboxAccountValidationRow(Base):
    """A penny drop the sandbox bank answered (migration 0053), by the caller's request id.
    Holds no account number: the answer is all a repeat needs."""

    __tablename__ = "sandbox_account_validations"

    request_id: Mapped[str] = mapped_column(Text, primary_key=True)
    reference: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    code: Mapped[str] = mapped_column(Text)
    failure_code: Mapped[str | None] = mapped_column(Text)
    name_at_bank: Mapped[str | None] = mapped_column(Text)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
