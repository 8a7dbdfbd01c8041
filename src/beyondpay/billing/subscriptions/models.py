"""The subscriptions tables (migrations 0040, 0042-0044): only this part of billing writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class SubscriptionRow(Base):
    __tablename__ = "subscriptions"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    customer_id: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    collection_method: Mapped[str] = mapped_column(Text)
    days_until_due: Mapped[int | None] = mapped_column(Integer)
    default_payment_method_id: Mapped[str | None] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    interval: Mapped[str] = mapped_column(Text)
    interval_count: Mapped[int] = mapped_column(Integer)
    billing_cycle_anchor: Mapped[datetime] = mapped_column(_TIME)
    # The current period's index from the anchor; -1 for a trial or a stub before it.
    period_index: Mapped[int] = mapped_column(Integer)
    current_period_start: Mapped[datetime] = mapped_column(_TIME)
    current_period_end: Mapped[datetime] = mapped_column(_TIME)
    trial_start: Mapped[datetime | None] = mapped_column(_TIME)
    trial_end: Mapped[datetime | None] = mapped_column(_TIME)
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    cancel_at: Mapped[datetime | None] = mapped_column(_TIME)
    canceled_at: Mapped[datetime | None] = mapped_column(_TIME)
    ended_at: Mapped[datetime | None] = mapped_column(_TIME)
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    latest_invoice_id: Mapped[str | None] = mapped_column(Text)
    # Dunning: the latest invoice's first failed charge, retries since, the next one's time.
    first_failure_at: Mapped[datetime | None] = mapped_column(_TIME, default=None)
    retries_made: Mapped[int] = mapped_column(Integer, default=0)
    next_retry_at: Mapped[datetime | None] = mapped_column(_TIME, default=None)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB)
    test_clock: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
    # Its tax rates (Stripe's objects as set; migration 0044): its invoices' defaults.
    default_tax_rates: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # Migration 0043: pause_collection, cancellation_details, trial_settings, restarted cycles
    # (an invoice's subscription_period is period_offset + period_index).
    pause_collection_behavior: Mapped[str | None] = mapped_column(Text, default=None)
    pause_collection_resumes_at: Mapped[datetime | None] = mapped_column(_TIME, default=None)
    cancellation_comment: Mapped[str | None] = mapped_column(Text, default=None)
    cancellation_feedback: Mapped[str | None] = mapped_column(Text, default=None)
    missing_payment_method: Mapped[str] = mapped_column(Text, default="create_invoice")
    period_offset: Mapped[int] = mapped_column(Integer, default=0)
    # Migration 0051: payment_settings[save_default_payment_method] and description.
    save_default_payment_method: Mapped[str] = mapped_column(Text, default="off")
    description: Mapped[str | None] = mapped_column(Text, default=None)


class SubscriptionItemRow(Base):
    __tablename__ = "subscription_items"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    subscription_id: Mapped[str] = mapped_column(Text)
    price_id: Mapped[str] = mapped_column(Text)
    product_id: Mapped[str] = mapped_column(Text)
    product_name: Mapped[str] = mapped_column(Text)
    unit_amount: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
    # Migration 0044: its own tax rates (Stripe's objects as set; empty: the subscription's
    # defaults apply), and its price's HSN/SAC and tax behavior, copied as its amount is.
    tax_rates: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    hsn_sac: Mapped[str | None] = mapped_column(Text, default=None)
    tax_behavior: Mapped[str | None] = mapped_column(Text, default=None)


class DunningSettingsRow(Base):
    """A merchant's dunning settings in one mode (migration 0042); absent: Stripe's defaults."""

    __tablename__ = "subscription_dunning_settings"

    merchant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    retry_offsets_s: Mapped[list[int]] = mapped_column(JSONB)
    final_action: Mapped[str] = mapped_column(Text)
    final_invoice: Mapped[str] = mapped_column(Text)
    mandate_category: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class NoticeRow(Base):
    """A notice a subscription owes its customer (migration 0042), sent once: its ``key`` is
    unique. A pre-debit notice also gates its try: ``charge_at`` is the earliest charge after
    it was really sent, ``charged_at`` when the try was made (or counted as failed)."""

    __tablename__ = "subscription_notices"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    subscription_id: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(Text)
    attempt: Mapped[int | None] = mapped_column(Integer)
    period_index: Mapped[int | None] = mapped_column(Integer)
    invoice_id: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    planned_at: Mapped[datetime] = mapped_column(_TIME)
    notify_at: Mapped[datetime] = mapped_column(_TIME)
    notified_at: Mapped[datetime | None] = mapped_column(_TIME)
    needs_authentication: Mapped[bool] = mapped_column(Boolean, default=False)
    amount_due: Mapped[int | None] = mapped_column(BigInteger)
    charge_at: Mapped[datetime | None] = mapped_column(_TIME)
    charged_at: Mapped[datetime | None] = mapped_column(_TIME)
    test_clock: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
