"""The wallets module's table (migration 0004). Only this module writes it.

The balances live in the ledger; this table only lists a merchant's accounts in the order they
were made, which the ledger (keyed by id) cannot do.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Identity, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base


class WalletAccountRow(Base):
    __tablename__ = "wallet_accounts"

    merchant_id: Mapped[str] = mapped_column(Text, primary_key=True)
    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    id: Mapped[str] = mapped_column(Text, primary_key=True)  # the merchant's own account id
    sequence: Mapped[int] = mapped_column(BigInteger, Identity(always=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
