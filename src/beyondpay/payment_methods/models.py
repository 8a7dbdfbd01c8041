"""The payment method tables (migration 0009). Only this module writes them.

A card number or a VPA is never stored in clear: it is AES-256-GCM under a random data key of
its own (``secret_ciphertext``, nonce first, the payment method's id as associated data), and
that data key is sealed by the key ring (``data_key_sealed``, bound to the id; ``data_key_ring_id``
names the ring key, so re-wrapping finds what an old key still wraps). The CVC is never stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, LargeBinary, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class PaymentMethodRow(Base):
    __tablename__ = "payment_methods"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    type: Mapped[str] = mapped_column(Text)
    customer_id: Mapped[str | None] = mapped_column(Text)
    billing_details: Mapped[dict[str, Any]] = mapped_column(JSONB)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB)
    # card: what may be shown (PCI DSS allows the last four), never the number.
    card_brand: Mapped[str | None] = mapped_column(Text)
    card_last4: Mapped[str | None] = mapped_column(Text)
    card_exp_month: Mapped[int | None] = mapped_column(Integer)
    card_exp_year: Mapped[int | None] = mapped_column(Integer)
    card_funding: Mapped[str | None] = mapped_column(Text)
    card_country: Mapped[str | None] = mapped_column(Text)
    card_cvc_given: Mapped[bool | None] = mapped_column(Boolean)
    # The keyed fingerprint of the card number or the VPA (see service.fingerprint_key).
    fingerprint: Mapped[str | None] = mapped_column(Text)
    upi_vpa_masked: Mapped[str | None] = mapped_column(Text)
    netbanking_bank: Mapped[str | None] = mapped_column(Text)
    data_key_sealed: Mapped[str | None] = mapped_column(Text)
    data_key_ring_id: Mapped[str | None] = mapped_column(Text)
    secret_ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    detached_at: Mapped[datetime | None] = mapped_column(_TIME)
    # Migration 0025: whether checkout flows may show it again to its customer (Stripe's
    # allow_redisplay), and the network transaction id of the verification or payment that set
    # the card up for off-session use: the stored credential merchant-initiated payments name.
    allow_redisplay: Mapped[str] = mapped_column(Text, default="unspecified")
    off_session_network_transaction_id: Mapped[str | None] = mapped_column(Text)

    def __repr__(self) -> str:
        return f"PaymentMethodRow(id={self.id!r}, type={self.type!r})"


class FingerprintKeyRow(Base):
    """A merchant's fingerprint key: random, sealed by the ring, never rotated with it."""

    __tablename__ = "payment_method_fingerprint_keys"

    merchant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    key_sealed: Mapped[str] = mapped_column(Text)
    ring_key_id: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)


class TokenRow(Base):
    """A single-use card token (migration 0027): its card is the payment method it names,
    kept in the same vault and never attached before the token is used."""

    __tablename__ = "tokens"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    type: Mapped[str] = mapped_column(Text)
    payment_method_id: Mapped[str] = mapped_column(Text)
    card_id: Mapped[str] = mapped_column(Text)
    client_ip: Mapped[str | None] = mapped_column(Text)
    used: Mapped[bool] = mapped_column(Boolean, default=False)
    used_at: Mapped[datetime | None] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)
