"""The invoices tables (migration 0032). Only this part of billing writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class InvoiceRow(Base):
    __tablename__ = "invoices"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    customer_id: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    collection_method: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    auto_advance: Mapped[bool] = mapped_column(Boolean)
    automatically_finalizes_at: Mapped[datetime | None] = mapped_column(_TIME)
    billing_reason: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    footer: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB)
    default_payment_method_id: Mapped[str | None] = mapped_column(Text)
    days_until_due: Mapped[int | None] = mapped_column(Integer)
    due_date: Mapped[datetime | None] = mapped_column(_TIME)
    number: Mapped[str | None] = mapped_column(Text)
    # Kept up to date as a draft's lines change; fixed at finalization.
    subtotal: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_due: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_out_of_band: Mapped[bool] = mapped_column(Boolean, default=False)
    # The PaymentIntent the invoice is paid through: one, made at finalization.
    payment_intent_id: Mapped[str | None] = mapped_column(Text)
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    attempted: Mapped[bool] = mapped_column(Boolean, default=False)
    next_payment_attempt: Mapped[datetime | None] = mapped_column(_TIME)
    # The merchant and the customer as they were at finalization (the customer's while a draft).
    account_name: Mapped[str | None] = mapped_column(Text)
    customer_name: Mapped[str | None] = mapped_column(Text)
    customer_email: Mapped[str | None] = mapped_column(Text)
    customer_phone: Mapped[str | None] = mapped_column(Text)
    customer_address: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    customer_shipping: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    test_clock: Mapped[str | None] = mapped_column(Text)
    # Tax (migration 0037): its default tax rates (Stripe's objects as applied), the merchant's
    # GSTIN it is issued under, and its GST facts (fixed at finalization; None: no GST).
    default_tax_rates: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    account_tax_id: Mapped[str | None] = mapped_column(Text, default=None)
    gst: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    # Its coupons and promotion codes: [{"id": "di_…", "coupon", "promotion_code", "terms"}].
    discounts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    period_start: Mapped[datetime] = mapped_column(_TIME)
    period_end: Mapped[datetime] = mapped_column(_TIME)
    finalized_at: Mapped[datetime | None] = mapped_column(_TIME)
    paid_at: Mapped[datetime | None] = mapped_column(_TIME)
    voided_at: Mapped[datetime | None] = mapped_column(_TIME)
    marked_uncollectible_at: Mapped[datetime | None] = mapped_column(_TIME)
    sent_at: Mapped[datetime | None] = mapped_column(_TIME)
    # When invoice.overdue was recorded (once).
    overdue_at: Mapped[datetime | None] = mapped_column(_TIME)
    # Why the automatic finalization failed (migration 0047; Stripe's object), else None.
    last_finalization_error: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    # The subscription billed and its period's index (migration 0040): one invoice a period.
    subscription_id: Mapped[str | None] = mapped_column(Text, default=None)
    subscription_period: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
    # The customer's balance when it was finalized and after it took its share (migration
    # 0041), and what credit notes took off it before and after it was paid.
    starting_balance: Mapped[int] = mapped_column(BigInteger, default=0)
    ending_balance: Mapped[int | None] = mapped_column(BigInteger, default=None)
    pre_payment_credit_notes_amount: Mapped[int] = mapped_column(BigInteger, default=0)
    post_payment_credit_notes_amount: Mapped[int] = mapped_column(BigInteger, default=0)


class InvoiceItemRow(Base):
    """An invoice item: pending (no invoice), or on an invoice, whose line it is (``line_id``)."""

    __tablename__ = "invoice_items"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    customer_id: Mapped[str] = mapped_column(Text)
    invoice_id: Mapped[str | None] = mapped_column(Text)
    line_id: Mapped[str | None] = mapped_column(Text)
    # Its place among its invoice's lines (1, 2, …), under the invoice's lock.
    line_position: Mapped[int | None] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    # The catalog price it is priced at (migration 0037), and its product's HSN/SAC code then.
    price_id: Mapped[str | None] = mapped_column(Text, default=None)
    product_id: Mapped[str | None] = mapped_column(Text, default=None)
    hsn_sac: Mapped[str | None] = mapped_column(Text, default=None)
    tax_behavior: Mapped[str | None] = mapped_column(Text, default=None)
    # Its tax rates (Stripe's objects as applied) and its taxes as last computed (migration 0037).
    tax_rates: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    taxes: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # What each of its invoice's discounts took off it: [{"discount": "di_…", "amount": …}].
    discount_amounts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    description: Mapped[str | None] = mapped_column(Text)
    discountable: Mapped[bool] = mapped_column(Boolean, default=True)
    period_start: Mapped[datetime] = mapped_column(_TIME)
    period_end: Mapped[datetime] = mapped_column(_TIME)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB)
    test_clock: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
    # The subscription and its item this bills (migration 0044), and whether it is a
    # proration (a credit or charge for part of a period) rather than a period's line.
    subscription_id: Mapped[str | None] = mapped_column(Text, default=None)
    subscription_item_id: Mapped[str | None] = mapped_column(Text, default=None)
    proration: Mapped[bool] = mapped_column(Boolean, default=False)


class InvoiceNumberCounterRow(Base):
    """The last number given per merchant, mode and financial year (by its starting year)."""

    __tablename__ = "invoice_number_counters"

    merchant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    financial_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger)


class InvoiceSettingsRow(Base):
    __tablename__ = "invoice_settings"

    merchant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    number_prefix: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class CustomerBalanceTransactionRow(Base):
    """Stripe's CustomerBalanceTransaction (migration 0041): one change of a customer's balance,
    and the ledger transfer ``<id>:balance`` that made it (``balance``)."""

    __tablename__ = "customer_balance_transactions"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    customer_id: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    ending_balance: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str | None] = mapped_column(Text)
    invoice_id: Mapped[str | None] = mapped_column(Text)
    credit_note_id: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = mapped_column(_TIME)
