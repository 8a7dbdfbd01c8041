"""The PSP transfers tables (migrations 0016 and 0020). Only this part of the PSP writes them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer, LargeBinary, Text
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import DateTime

from beyondpay.db.base import Base

_TIME = DateTime(timezone=True)


class TransferRow(Base):
    __tablename__ = "psp_transfers"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    payer_id: Mapped[str] = mapped_column(Text)
    # What the payee's history shows of who paid them: the verified name and a masked address.
    payer_name: Mapped[str] = mapped_column(Text)
    payer_masked: Mapped[str] = mapped_column(Text)
    client_request_id: Mapped[str] = mapped_column(Text)
    # SHA-256 of what the app asked for, so a reused request id with other terms is refused.
    params_fingerprint: Mapped[bytes] = mapped_column(LargeBinary)
    bank_account_id: Mapped[str] = mapped_column(Text)
    device_id: Mapped[str | None] = mapped_column(Text)
    payee_kind: Mapped[str] = mapped_column(Text)
    payee_payer_id: Mapped[str | None] = mapped_column(Text)
    payee_merchant_id: Mapped[str | None] = mapped_column(Text)
    payee_name: Mapped[str] = mapped_column(Text)
    payee_masked: Mapped[str] = mapped_column(Text)
    payee_vpa_id: Mapped[str | None] = mapped_column(Text)
    alias_id: Mapped[str | None] = mapped_column(Text)
    merchant_category_code: Mapped[str | None] = mapped_column(Text)
    # How the payee was named: vpa, alias, mobile, qr, beneficiary, collect.
    via: Mapped[str] = mapped_column(Text)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(Text)  # `tr` of a merchant's QR
    collect_request_id: Mapped[str | None] = mapped_column(Text)
    # pending (asked of the switch, answer not applied yet), succeeded or failed.
    status: Mapped[str] = mapped_column(Text)
    npci_code: Mapped[str | None] = mapped_column(Text)
    failure_code: Mapped[str | None] = mapped_column(Text)
    failure_message: Mapped[str | None] = mapped_column(Text)
    rail_reference: Mapped[str | None] = mapped_column(Text)
    upi_transaction_id: Mapped[str | None] = mapped_column(Text)
    rrn: Mapped[str | None] = mapped_column(Text)
    # The bank accounts the push names (sandbox ledger account ids, pseudonymous), so the switch
    # can be asked again with the same request after a crash; "switch" for a merchant's collect.
    payer_account_ref: Mapped[str | None] = mapped_column(Text)
    payee_account_ref: Mapped[str | None] = mapped_column(Text)
    day: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    completed_at: Mapped[datetime | None] = mapped_column(_TIME)


class CollectRequestRow(Base):
    __tablename__ = "psp_collect_requests"

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    payer_id: Mapped[str] = mapped_column(Text)  # who is asked to pay
    payer_vpa_id: Mapped[str] = mapped_column(Text)
    requester_kind: Mapped[str] = mapped_column(Text)
    requester_payer_id: Mapped[str | None] = mapped_column(Text)
    requester_merchant_id: Mapped[str | None] = mapped_column(Text)
    requester_name: Mapped[str] = mapped_column(Text)
    requester_masked: Mapped[str] = mapped_column(Text)
    requester_vpa_id: Mapped[str | None] = mapped_column(Text)
    requester_account_ref: Mapped[str] = mapped_column(Text)
    # A merchant's collect came through the UPI switch; its answer goes back there.
    rail_reference: Mapped[str | None] = mapped_column(Text)
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    npci_code: Mapped[str | None] = mapped_column(Text)
    transfer_id: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(_TIME)
    created_at: Mapped[datetime] = mapped_column(_TIME)
    updated_at: Mapped[datetime] = mapped_column(_TIME)


class LimitCounterRow(Base):
    __tablename__ = "psp_limit_counters"

    payer_id: Mapped[str] = mapped_column(Text, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    p2p_amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    p2p_count: Mapped[int] = mapped_column(Integer, default=0)
