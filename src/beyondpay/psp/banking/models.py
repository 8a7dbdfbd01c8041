"""The PSP banking tables (migration 0014). Only this package writes them.

No PIN is stored: ``psp_upi_pins`` keeps an Argon2id hash keyed by the ring (see ``pins``), and
no account number: the bank's masked form and the rails' opaque reference.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Integer, LargeBinary, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class BankAccountRow(Base):
    __tablename__ = "psp_bank_accounts"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    payer_id: Mapped[str] = mapped_column(Text)
    bank: Mapped[str] = mapped_column(Text)
    bank_name: Mapped[str] = mapped_column(Text)
    ifsc: Mapped[str] = mapped_column(Text)
    # The rails' opaque reference to the account: what a debit or a balance inquiry names.
    account_ref: Mapped[str] = mapped_column(Text)
    account_number_masked: Mapped[str] = mapped_column(Text)
    account_type: Mapped[str] = mapped_column(Text)
    # The name the bank verified, shown to whoever the payer pays.
    holder_name: Mapped[str] = mapped_column(Text)
    is_primary: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(Text)  # active | unlinked
    unlinked_at: Mapped[datetime | None] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class UpiPinRow(Base):
    __tablename__ = "psp_upi_pins"

    account_ref: Mapped[str] = mapped_column(Text, primary_key=True)
    pin_hash: Mapped[bytes] = mapped_column(LargeBinary)
    pin_salt: Mapped[bytes] = mapped_column(LargeBinary)
    pepper_key_id: Mapped[str] = mapped_column(Text)
    hash_parameters: Mapped[str] = mapped_column(Text)
    tries_failed: Mapped[int] = mapped_column(Integer)
    locked_at: Mapped[datetime | None] = mapped_column(_TIME)
    set_at: Mapped[datetime] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)

    def __repr__(self) -> str:
        return f"UpiPinRow(locked={self.locked_at is not None}, tries_failed={self.tries_failed})"


class CardCheckRow(Base):
    __tablename__ = "psp_card_checks"

    payer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    bank: Mapped[str] = mapped_column(Text, primary_key=True)
    tries_failed: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
