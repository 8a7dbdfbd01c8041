"""Checkout's table (migration 0045). Only this module writes it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class CheckoutSessionRow(Base):
    """A Checkout Session. Its line items never change after creation (Stripe's do not in
    payment mode), so they are kept with it as a JSON list in their rendered order."""

    __tablename__ = "checkout_sessions"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    mode: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    payment_status: Mapped[str] = mapped_column(Text)
    currency: Mapped[str] = mapped_column(Text)
    amount_subtotal: Mapped[int] = mapped_column(BigInteger)
    amount_total: Mapped[int] = mapped_column(BigInteger)
    line_items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    customer_id: Mapped[str | None] = mapped_column(Text)
    customer_email: Mapped[str | None] = mapped_column(Text)
    customer_creation: Mapped[str | None] = mapped_column(Text)
    client_reference_id: Mapped[str | None] = mapped_column(Text)
    success_url: Mapped[str | None] = mapped_column(Text)
    cancel_url: Mapped[str | None] = mapped_column(Text)
    payment_method_types: Mapped[list[str]] = mapped_column(JSONB)
    allow_promotion_codes: Mapped[bool | None] = mapped_column(Boolean)
    payment_intent_id: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB, default=dict)
    expires_at: Mapped[datetime] = mapped_column(_TIME)
    completed_at: Mapped[datetime | None] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
    # The Payment Link the session was opened from (migration 0049), or None.
    payment_link_id: Mapped[str | None] = mapped_column(Text, default=None)
    # Migration 0052: Stripe's ``discounts`` (each with its coupon's ``terms`` kept beside),
    # what they take off, and the email the page collected.
    discounts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    amount_discount: Mapped[int] = mapped_column(BigInteger, default=0)
    collected_email: Mapped[str | None] = mapped_column(Text, default=None)
    # Setup mode (migration 0050): the SetupIntent the page makes when the customer first
    # submits a card, and what the merchant asked it to carry (``description``, ``metadata``).
    setup_intent_id: Mapped[str | None] = mapped_column(Text, default=None)
    setup_intent_data: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    # Subscription mode (migration 0051): the subscription made at the first pay attempt, its
    # first invoice (whose PaymentIntent is payment_intent_id), and subscription_data as given.
    subscription_id: Mapped[str | None] = mapped_column(Text, default=None)
    invoice_id: Mapped[str | None] = mapped_column(Text, default=None)
    subscription_data: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
