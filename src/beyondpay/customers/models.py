"""The customers table (migration 0003). Only this module writes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class CustomerRow(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    name: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB)
    shipping: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)  # 0022
    created_at: Mapped[datetime] = mapped_column(_TIME)
    deleted_at: Mapped[datetime | None] = mapped_column(_TIME)
    test_clock: Mapped[str | None] = mapped_column(Text, default=None)
    # invoice_settings.default_payment_method (migration 0025): attached to this customer.
    default_payment_method_id: Mapped[str | None] = mapped_column(Text, default=None)
    # Stripe's balance (migration 0041; negative: credit the customer can spend) and its
    # currency, set by the first balance transaction. Billing changes it through
    # ``CustomerService.set_balance``, in the transaction that moves the customer's ledger
    # account, which it always equals.
    balance: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str | None] = mapped_column(Text, default=None)
