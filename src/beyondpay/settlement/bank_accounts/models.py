"""The bank accounts and payout holds tables (migration 0053). Only this module writes them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class BankAccountRow(Base):
    __tablename__ = "bank_accounts"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    account_holder_name: Mapped[str] = mapped_column(Text)
    account_holder_type: Mapped[str | None] = mapped_column(Text)
    routing_number: Mapped[str] = mapped_column(Text)  # the IFSC
    bank_name: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    last4: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(Text)
    # The full number, AES-GCM under the key ring (context: the account's id); never rendered.
    account_number_sealed: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    default_for_currency: Mapped[bool] = mapped_column(Boolean)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB)
    # What the penny drop learnt: the holder's name as the bank has it, or why it failed.
    name_at_bank: Mapped[str | None] = mapped_column(Text, default=None)
    validation_failure_code: Mapped[str | None] = mapped_column(Text, default=None)
    validation_attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
    deleted_at: Mapped[datetime | None] = mapped_column(_TIME, default=None)


class PayoutAccountHoldRow(Base):
    """Until when payouts of a (merchant, mode, currency) wait: the takeover guard."""

    __tablename__ = "payout_account_holds"

    merchant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    currency: Mapped[str] = mapped_column(Text, primary_key=True)
    held_until: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
