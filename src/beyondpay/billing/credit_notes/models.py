"""The credit notes tables (migration 0041). Only this part of billing writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class CreditNoteRow(Base):
    __tablename__ = "credit_notes"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    invoice_id: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str] = mapped_column(Text)
    number: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    # Before exclusive taxes and discounts (Stripe's subtotal); the total is what is credited.
    subtotal: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    refund_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    credit_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    out_of_band_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    refund_id: Mapped[str | None] = mapped_column(Text, default=None)
    customer_balance_transaction_id: Mapped[str | None] = mapped_column(Text, default=None)
    reason: Mapped[str | None] = mapped_column(Text)
    memo: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB)
    # The invoice's GST facts (supplier state, place of supply, GSTINs), as it was issued under.
    gst: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    effective_at: Mapped[datetime] = mapped_column(_TIME)
    voided_at: Mapped[datetime | None] = mapped_column(_TIME, default=None)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class CreditNoteLineRow(Base):
    __tablename__ = "credit_note_lines"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    credit_note_id: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(Text)
    invoice_line_item: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[int | None] = mapped_column(BigInteger)
    unit_amount: Mapped[int | None] = mapped_column(BigInteger)
    # Before exclusive taxes and discounts, as the invoice line's amount is.
    amount: Mapped[int] = mapped_column(BigInteger)
    # Its share of the invoice line's discounts and taxes:
    # {"discount": n, "taxes": [TaxAmount.stored(), …]}.
    taxes: Mapped[dict[str, Any]] = mapped_column(JSONB)


class CreditNoteNumberCounterRow(Base):
    """The last credit note number given per merchant, mode and financial year."""

    __tablename__ = "credit_note_number_counters"

    merchant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    financial_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger)
