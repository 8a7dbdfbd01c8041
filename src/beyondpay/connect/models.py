"""Connect's tables (migration 0057). Only this module writes them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class TransferRow(Base):
    """A platform's transfer (``merchant_id``) to one of its connected accounts."""

    __tablename__ = "connect_transfers"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    destination_id: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    amount_reversed: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    transfer_group: Mapped[str | None] = mapped_column(Text)
    source_transaction: Mapped[str | None] = mapped_column(Text)
    balance_transaction_id: Mapped[str] = mapped_column(Text)
    destination_payment_id: Mapped[str] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
    # A destination charge's transfer names its charge (migration 0059, unique).
    charge_id: Mapped[str | None] = mapped_column(Text, default=None)


class TransferReversalRow(Base):
    __tablename__ = "connect_transfer_reversals"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    transfer_id: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    balance_transaction_id: Mapped[str] = mapped_column(Text)
    destination_payment_refund_id: Mapped[str] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    source_refund: Mapped[str | None] = mapped_column(Text, default=None)


class ApplicationFeeRow(Base):
    """A destination charge's application fee (``fee_…``, migration 0059): the platform's
    (``merchant_id``), collected from the connected account (``account_id``)."""

    __tablename__ = "application_fees"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    account_id: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(Text)
    charge_id: Mapped[str] = mapped_column(Text)
    balance_transaction_id: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class ApplicationFeeRefundRow(Base):
    __tablename__ = "application_fee_refunds"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    fee_id: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    balance_transaction_id: Mapped[str] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(_TIME)
