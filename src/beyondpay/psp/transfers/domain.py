"""Pure rules of PSP transfers: the payer's limits, the day they count in, collect expiry.

The limits follow NPCI's public rules for UPI: a P2P ceiling of ₹1,00,000 a day, a cap per
transaction, a count of payments a day, and lower limits for 24 hours after a device is bound
(a stolen SIM on a new phone is the commonest take-over). An amount over a cap is NPCI's Z8
("amount limit exceeded"); one payment too many in the day is Z7 ("frequency limit exceeded").
Every figure is a named constant and can be changed by a setting (docs/configuration.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum
from typing import Final

from beyondpay.kit.invariants import invariant

# NPCI counts the day in Indian Standard Time, which has no daylight saving.
IST: Final = timezone(timedelta(hours=5, minutes=30), "IST")
P2P_DAILY_AMOUNT_MINOR_MAX: Final = 1_00_000_00  # ₹1,00,000
TRANSACTION_AMOUNT_MINOR_MAX: Final = 1_00_000_00  # ₹1,00,000 per payment
P2P_DAILY_COUNT_MAX: Final = 20
NEW_DEVICE_COOLING_S: Final = 24 * 3600
NEW_DEVICE_DAILY_AMOUNT_MINOR_MAX: Final = 5_000_00  # ₹5,000 in the first 24 hours
COLLECT_EXPIRY_S_DEFAULT: Final = 30 * 60
COLLECT_EXPIRY_S_MIN: Final = 60
COLLECT_EXPIRY_S_MAX: Final = 7 * 86400
NOTE_CHARS_MAX: Final = 50  # what UPI apps carry in `tn`


class PayeeKind(StrEnum):
    payer = "payer"  # P2P
    merchant = "merchant"  # P2M


@dataclass(frozen=True, slots=True)
class Limits:
    p2p_daily_amount_minor_max: int = P2P_DAILY_AMOUNT_MINOR_MAX
    transaction_amount_minor_max: int = TRANSACTION_AMOUNT_MINOR_MAX
    p2p_daily_count_max: int = P2P_DAILY_COUNT_MAX
    new_device_cooling_s: int = NEW_DEVICE_COOLING_S
    new_device_daily_amount_minor_max: int = NEW_DEVICE_DAILY_AMOUNT_MINOR_MAX


@dataclass(frozen=True, slots=True)
class LimitBreach:
    """Why a payment is over a limit: NPCI's code, ours, and a message a payer understands."""

    npci_code: str  # Z8 (amount) or Z7 (frequency)
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class DaySoFar:
    """What the payer has already paid today (IST), as the limit counters hold it."""

    p2p_amount_minor: int = 0
    p2p_count: int = 0
    amount_minor: int = 0  # P2P and P2M: what the new-device cap counts


def day_of(moment: datetime) -> date:
    """The IST calendar day a payment counts in."""
    invariant(moment.tzinfo is not None, "limits count in aware time")
    return moment.astimezone(IST).date()


def in_cooling(bound_at: datetime | None, now: datetime, limits: Limits) -> bool:
    """A device bound less than the cooling period ago pays under the new-device cap. A session
    on no bound device cannot pay at all (the caller refuses it before limits are asked)."""
    if bound_at is None:
        return True
    return now - bound_at < timedelta(seconds=limits.new_device_cooling_s)


def _rupees(amount_minor: int) -> str:
    return f"₹{amount_minor // 100:,}"


def breach(
    limits: Limits,
    *,
    kind: PayeeKind,
    amount_minor: int,
    so_far: DaySoFar,
    cooling: bool,
) -> LimitBreach | None:
    """The first limit this payment would break, checked in a fixed order (the per-payment cap,
    the new-device cap, the daily count, the daily amount), or None when it fits."""
    invariant(amount_minor > 0, "a payment moves a positive amount")
    if amount_minor > limits.transaction_amount_minor_max:
        return LimitBreach(
            "Z8",
            "transaction_limit_exceeded",
            f"A UPI payment can be at most {_rupees(limits.transaction_amount_minor_max)}.",
        )
    if cooling and so_far.amount_minor + amount_minor > limits.new_device_daily_amount_minor_max:
        return LimitBreach(
            "Z8",
            "new_device_limit_exceeded",
            "For 24 hours after a device is linked, payments are limited to"
            f" {_rupees(limits.new_device_daily_amount_minor_max)} in all.",
        )
    if kind is PayeeKind.merchant:
        return None
    if so_far.p2p_count + 1 > limits.p2p_daily_count_max:
        return LimitBreach(
            "Z7",
            "daily_count_limit_exceeded",
            f"At most {limits.p2p_daily_count_max} payments to people can be made in a day.",
        )
    if so_far.p2p_amount_minor + amount_minor > limits.p2p_daily_amount_minor_max:
        return LimitBreach(
            "Z8",
            "daily_limit_exceeded",
            f"Payments to people are limited to {_rupees(limits.p2p_daily_amount_minor_max)}"
            " a day; this one would go over it.",
        )
    return None


def collect_expires_at(now: datetime, expires_in_s: int | None) -> datetime:
    seconds = COLLECT_EXPIRY_S_DEFAULT if expires_in_s is None else expires_in_s
    invariant(
        COLLECT_EXPIRY_S_MIN <= seconds <= COLLECT_EXPIRY_S_MAX,
        "the collect's expiry was checked at the edge",
    )
    return now + timedelta(seconds=seconds)
