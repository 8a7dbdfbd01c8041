"""The payments tables (migration 0010): intents, charges, balance transactions. Only this
module writes them (refunds live in the refunds module)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Integer, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class PaymentIntentRow(Base):
    __tablename__ = "payment_intents"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    capture_method: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(Text)
    payment_method_id: Mapped[str | None] = mapped_column(Text)
    payment_method_types: Mapped[list[str]] = mapped_column(ARRAY(Text))
    description: Mapped[str | None] = mapped_column(Text)
    receipt_email: Mapped[str | None] = mapped_column(Text)
    statement_descriptor: Mapped[str | None] = mapped_column(Text)
    return_url: Mapped[str | None] = mapped_column(Text)
    client_secret: Mapped[str] = mapped_column(Text)
    amount_capturable: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_received: Mapped[int] = mapped_column(BigInteger, default=0)
    latest_charge_id: Mapped[str | None] = mapped_column(Text)
    # The invoice or Checkout Session that made the intent (migration 0048), else None: its
    # listeners alone hear the intent's events, and it alone cancels or updates the intent.
    owner: Mapped[str | None] = mapped_column(Text, default=None)
    last_payment_error: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    next_action: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    cancellation_reason: Mapped[str | None] = mapped_column(Text)
    canceled_at: Mapped[datetime | None] = mapped_column(_TIME)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
    # Migration 0025: the payment method is saved to the customer when the payment succeeds
    # (on_session | off_session), and whether the last confirmation was off-session (the
    # customer away: no challenge can be shown).
    setup_future_usage: Mapped[str | None] = mapped_column(Text, default=None)
    off_session: Mapped[bool] = mapped_column(Boolean, default=False)
    # Migration 0026: how the payment method types were chosen, the options by type, and what
    # the charge carries to the payer's statement and the parcel.
    automatic_payment_methods: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    allowed_payment_method_types: Mapped[list[str] | None] = mapped_column(
        ARRAY(Text), default=None
    )
    excluded_payment_method_types: Mapped[list[str] | None] = mapped_column(
        ARRAY(Text), default=None
    )
    payment_method_options: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    shipping: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    statement_descriptor_suffix: Mapped[str | None] = mapped_column(Text, default=None)
    # Migration 0059: Connect's destination charge (``transfer_data``), copied to the charge.
    transfer_destination: Mapped[str | None] = mapped_column(Text, default=None)
    transfer_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    application_fee_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    on_behalf_of: Mapped[str | None] = mapped_column(Text, default=None)
    transfer_group: Mapped[str | None] = mapped_column(Text, default=None)


class ChargeRow(Base):
    __tablename__ = "charges"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    payment_intent_id: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(Text)
    payment_method_id: Mapped[str] = mapped_column(Text)
    payment_method_details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    rail: Mapped[str] = mapped_column(Text)
    rail_reference: Mapped[str | None] = mapped_column(Text)
    amount: Mapped[int] = mapped_column(BigInteger)
    amount_captured: Mapped[int] = mapped_column(BigInteger, default=0)
    amount_refunded: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    authorized: Mapped[bool] = mapped_column(Boolean, default=False)
    captured: Mapped[bool] = mapped_column(Boolean, default=False)
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    capture_requested: Mapped[bool] = mapped_column(Boolean)
    failure_code: Mapped[str | None] = mapped_column(Text)
    failure_message: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    rail_details: Mapped[dict[str, str]] = mapped_column(JSONB, default=dict)
    balance_transaction_id: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB, default=dict)
    checks_made: Mapped[int] = mapped_column(Integer, default=0)
    next_check_at: Mapped[datetime | None] = mapped_column(_TIME)
    # The rail operation asked and not yet applied ('authorize' or 'capture'), and a capture's
    # amount: set between the phases of a confirmation or a capture (migration 0019).
    rail_operation: Mapped[str | None] = mapped_column(Text, default=None)
    rail_operation_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Where the receipt goes, and its number once one is sent (migration 0023).
    receipt_email: Mapped[str | None] = mapped_column(Text, default=None)
    receipt_number: Mapped[str | None] = mapped_column(Text, default=None)
    # The payment was taken back by a dispute (migration 0024): refunds are refused.
    disputed: Mapped[bool] = mapped_column(Boolean, default=False)
    # How many times the authorization was raised (increment_authorization): it names the
    # current ledger hold, ``postings.hold_id`` (migration 0027).
    authorization_increments: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
    # Migration 0026: carried from the intent when the charge is made.
    shipping: Mapped[dict[str, Any] | None] = mapped_column(JSONB, default=None)
    statement_descriptor: Mapped[str | None] = mapped_column(Text, default=None)
    statement_descriptor_suffix: Mapped[str | None] = mapped_column(Text, default=None)
    calculated_statement_descriptor: Mapped[str | None] = mapped_column(Text, default=None)
    # Migration 0059: Connect's destination charge (``transfer_data``), copied to the charge.
    transfer_destination: Mapped[str | None] = mapped_column(Text, default=None)
    transfer_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    application_fee_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    on_behalf_of: Mapped[str | None] = mapped_column(Text, default=None)
    transfer_group: Mapped[str | None] = mapped_column(Text, default=None)
    # The transfer (``tr_…``) and application fee (``fee_…``) its capture made.
    transfer_id: Mapped[str | None] = mapped_column(Text, default=None)
    application_fee_id: Mapped[str | None] = mapped_column(Text, default=None)


class BalanceTransactionRow(Base):
    __tablename__ = "balance_transactions"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    amount: Mapped[int] = mapped_column(BigInteger)
    fee: Mapped[int] = mapped_column(BigInteger)
    net: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    reporting_category: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    available_on: Mapped[datetime] = mapped_column(_TIME)
    source: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    # The test clock of the payment's customer: its advances make the funds available.
    test_clock: Mapped[str | None] = mapped_column(Text, default=None)


class ReceiptCounterRow(Base):
    """The last receipt number given per merchant and mode (migration 0023)."""

    __tablename__ = "receipt_counters"

    merchant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    last_number: Mapped[int] = mapped_column(BigInteger)


class UpiCreditRow(Base):
    """A UPI credit to a merchant's VPA recorded as the merchant's payment (migration 0028):
    one per (merchant, mode, UPI transaction id), whoever tells it and however often."""

    __tablename__ = "upi_credits"

    merchant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    upi_transaction_id: Mapped[str] = mapped_column(Text, primary_key=True)
    payment_intent_id: Mapped[str] = mapped_column(Text)
    charge_id: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
