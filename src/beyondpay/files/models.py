"""Files' table (migration 0058). Only this module writes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, LargeBinary, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class FileRow(Base):
    """A merchant's file and its contents (small: a report's CSV), per mode."""

    __tablename__ = "files"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    merchant_id: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    purpose: Mapped[str] = mapped_column(Text)
    filename: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    contents: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    expires_at: Mapped[datetime | None] = mapped_column(_TIME)
