"""The PSP addresses tables (migration 0015). Only this package writes them.

No VPA or alias is stored in clear: a keyed fingerprint finds a row (under any key of the ring,
so lookups survive rotation), a sealed copy (AES-GCM bound to the row) is what the owner's own
list opens, and a masked form (``as****@beyondpay``) is what anyone else is shown.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class VpaRow(Base):
    """A VPA at this PSP's handle: a payer's (money goes to a linked bank account) or a
    merchant's (money goes to the merchant's sandbox bank account)."""

    __tablename__ = "psp_vpas"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    owner_kind: Mapped[str] = mapped_column(Text)  # payer | merchant
    payer_id: Mapped[str | None] = mapped_column(Text)
    merchant_id: Mapped[str | None] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    vpa_fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    vpa_sealed: Mapped[str] = mapped_column(Text)
    vpa_masked: Mapped[str] = mapped_column(Text)
    bank_account_id: Mapped[str | None] = mapped_column(Text)  # a payer's pba_…
    account_ref: Mapped[str | None] = mapped_column(Text)  # a merchant's sandbox account
    display_name: Mapped[str | None] = mapped_column(Text)  # a merchant's verified name
    merchant_category_code: Mapped[str | None] = mapped_column(Text)
    is_primary: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(Text)  # active | inactive
    deactivated_at: Mapped[datetime | None] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)

    @property
    def masked(self) -> str:
        """What anyone but the owner is shown of the VPA: ``as****@beyondpay``."""
        return self.vpa_masked

    def __repr__(self) -> str:
        return f"VpaRow(id={self.id!r}, masked={self.vpa_masked!r}, status={self.status!r})"


class AliasRow(Base):
    """A private alias: a random address standing for one of the payer's VPAs. Its text
    changes when rotated (``AliasTextRow`` keeps every text it had); its id, scope and VPA do
    not."""

    __tablename__ = "psp_aliases"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    payer_id: Mapped[str] = mapped_column(Text)
    vpa_id: Mapped[str] = mapped_column(Text, ForeignKey("psp_vpas.id"))
    alias_sealed: Mapped[str] = mapped_column(Text)  # the current text
    alias_masked: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)  # active | revoked
    counterparty_payer_id: Mapped[str | None] = mapped_column(Text)
    counterparty_masked: Mapped[str | None] = mapped_column(Text)
    merchant_id: Mapped[str | None] = mapped_column(Text)
    one_time: Mapped[bool] = mapped_column(Boolean)
    expires_at: Mapped[datetime | None] = mapped_column(_TIME)
    uses: Mapped[int] = mapped_column(Integer)
    used_at: Mapped[datetime | None] = mapped_column(_TIME)
    rotations: Mapped[int] = mapped_column(Integer)
    rotated_at: Mapped[datetime | None] = mapped_column(_TIME)
    revoked_at: Mapped[datetime | None] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)

    def __repr__(self) -> str:
        return f"AliasRow(id={self.id!r}, masked={self.alias_masked!r}, status={self.status!r})"


class AliasTextRow(Base):
    """Every text an alias has had, by fingerprint: the current one resolves, a rotated one
    answers ``alias_rotated`` (not "unknown"), so whoever holds it learns to ask again."""

    __tablename__ = "psp_alias_texts"

    fingerprint: Mapped[bytes] = mapped_column(LargeBinary, primary_key=True)
    alias_id: Mapped[str] = mapped_column(Text, ForeignKey("psp_aliases.id"))
    status: Mapped[str] = mapped_column(Text)  # current | rotated
    created_at: Mapped[datetime] = mapped_column(_TIME)
    rotated_at: Mapped[datetime | None] = mapped_column(_TIME)


class BeneficiaryRow(Base):
    """A payee the payer saved. It keeps the resolved target (the VPA's id, and the alias's id
    when saved by alias), never the address text: a rotated alias keeps paying the same VPA."""

    __tablename__ = "psp_beneficiaries"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    payer_id: Mapped[str] = mapped_column(Text)
    nickname: Mapped[str] = mapped_column(Text)
    saved_by: Mapped[str] = mapped_column(Text)  # vpa | alias | mobile
    vpa_id: Mapped[str] = mapped_column(Text, ForeignKey("psp_vpas.id"))
    alias_id: Mapped[str | None] = mapped_column(Text, ForeignKey("psp_aliases.id"))
    # Saved by mobile number: the payer it named, whose primary VPA is paid at the time.
    payee_payer_id: Mapped[str | None] = mapped_column(Text)
    payee_kind: Mapped[str] = mapped_column(Text)  # payer | merchant
    masked: Mapped[str] = mapped_column(Text)
    verified_name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    deleted_at: Mapped[datetime | None] = mapped_column(_TIME)
