"""The limits tables (migration 0017). Only this module writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Double, Integer, Text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class LimitPolicyRow(Base):
    """One policy, per scope (a merchant ``acct_…`` or a PSP payer ``pyr_…``) and mode. The
    values of a VPA list are keyed fingerprints (hex), never VPAs; ``list_values_shown`` holds
    what the API shows instead (masked VPAs, or the values themselves for ids and IPs)."""

    __tablename__ = "limit_policies"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    scope: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    kind: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    subject: Mapped[str | None] = mapped_column(Text)
    period: Mapped[str | None] = mapped_column(Text)
    amount_minor_max: Mapped[int | None] = mapped_column(BigInteger)
    count_max: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str | None] = mapped_column(Text)
    mccs: Mapped[list[str]] = mapped_column(ARRAY(Text))
    start_minute: Mapped[int | None] = mapped_column(Integer)
    end_minute: Mapped[int | None] = mapped_column(Integer)
    latitude: Mapped[float | None] = mapped_column(Double)
    longitude: Mapped[float | None] = mapped_column(Double)
    radius_m: Mapped[int | None] = mapped_column(Integer)
    list_values: Mapped[list[str]] = mapped_column(ARRAY(Text))
    list_values_shown: Mapped[list[str]] = mapped_column(ARRAY(Text))
    segment: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, str]] = mapped_column("metadata", JSONB)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)
    deleted_at: Mapped[datetime | None] = mapped_column(_TIME)


class LimitCounterRow(Base):
    """What a subject has spent in one window of one cap: the PostgreSQL store's counters,
    locked in the paying transaction."""

    __tablename__ = "limit_counters"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(_TIME)


class LimitDecisionRow(Base):
    """The audit trail of limits: every check, reservation and release, with the policy that
    decided and why. A reservation keeps the counters it added to, so a release gives back
    exactly those even if the policies changed since."""

    __tablename__ = "limit_decisions"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    scope: Mapped[str] = mapped_column(Text)
    livemode: Mapped[bool] = mapped_column(Boolean)
    payment_id: Mapped[str] = mapped_column(Text)
    operation: Mapped[str] = mapped_column(Text)
    allowed: Mapped[bool] = mapped_column(Boolean)
    policy_id: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    code: Mapped[str | None] = mapped_column(Text)
    npci_code: Mapped[str | None] = mapped_column(Text)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    counters: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    store: Mapped[str] = mapped_column(Text)
    released_at: Mapped[datetime | None] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)
