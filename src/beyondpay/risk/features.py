"""The model's features: a pure function of the payment context and a snapshot of history.

``compute(ctx, history)`` is the one definition of every feature, shared by the service (history
read from Redis or PostgreSQL), the simulator that trains the model and the tests (history built
by hand or by :class:`MemoryHistory`). ``FEATURE_NAMES`` is the order the model is trained on;
renaming or reordering one is a new model.

A ``History`` describes what happened before this payment: the payment itself is never in it
(a feature store reads, the features are computed, and only then is the payment recorded).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from beyondpay.risk.domain import IST, PaymentContext, Rail

FEATURE_NAMES: Final[tuple[str, ...]] = (
    "amount_log",
    "amount_to_payer_mean",
    "count_1h",
    "sum_1h_log",
    "count_24h",
    "sum_24h_log",
    "unique_payees_24h",
    "new_payee",
    "new_device",
    "device_change",
    "geo_distance_km",
    "geo_speed_kmh",
    "mcc_risk",
    "hour_ist",
    "weekday_ist",
    "account_age_days",
    "payee_new_payers_24h",
    "rail_card",
    "rail_upi",
)

MINOR_PER_MAJOR: Final = 100
UNKNOWN: Final = -1.0
EARTH_RADIUS_KM: Final = 6371.0088
NEW_DEVICE_S: Final = 24 * 3600
# Two payments seconds apart from different places would otherwise divide by almost nothing.
GEO_ELAPSED_S_MIN: Final = 60
GEO_SPEED_KMH_MAX: Final = 20_000.0
WINDOW_1H: Final = timedelta(hours=1)
WINDOW_24H: Final = timedelta(hours=24)
WINDOW_30D: Final = timedelta(days=30)

# Prior fraud rates per MCC group (card-network category codes), from public chargeback
# statistics' ordering rather than exact figures: what matters to the model is the ranking.
MCC_RISK_DEFAULT: Final = 0.2
MCC_RISK_UNKNOWN: Final = 0.3
MCC_RISK: Final[dict[str, float]] = {
    "7995": 0.9,  # betting, lotteries, casinos
    "7994": 0.7,  # video game arcades, online gaming
    "6051": 0.85,  # quasi-cash, crypto
    "4829": 0.8,  # money transfer
    "6540": 0.7,  # stored value loads
    "6211": 0.5,  # securities brokers
    "5944": 0.6,  # jewellery
    "5732": 0.5,  # electronics
    "5045": 0.45,  # computers
    "4814": 0.4,  # telecom, recharges
    "5816": 0.5,  # digital games
    "5967": 0.6,  # direct marketing, inbound telemarketing
    "5999": 0.3,  # miscellaneous retail
    "5311": 0.15,  # department stores
    "5691": 0.15,  # clothing
    "4722": 0.3,  # travel agencies
    "4511": 0.3,  # airlines
    "7011": 0.2,  # hotels
    "5411": 0.05,  # grocery
    "5812": 0.05,  # restaurants
    "5814": 0.05,  # fast food
    "5541": 0.1,  # fuel
    "4111": 0.05,  # local transport
    "4121": 0.05,  # taxis
    "4900": 0.05,  # utilities
    "8211": 0.05,  # schools
    "8220": 0.05,  # colleges
    "8062": 0.05,  # hospitals
    "5912": 0.05,  # pharmacies
    "9311": 0.02,  # taxes
}


@dataclass(frozen=True, slots=True)
class History:
    """What a feature store knows before this payment, for its payer, payee and device.

    Counts and sums are of the payer's earlier payments in each window (this one excluded).
    The defaults are a payer never seen before.
    """

    count_1h: int = 0
    sum_1h_minor: int = 0
    count_24h: int = 0
    sum_24h_minor: int = 0
    count_30d: int = 0
    sum_30d_minor: int = 0
    unique_payees_24h: int = 0
    paid_payee_before: bool = False
    last_device_id: str | None = None
    last_latitude: float | None = None
    last_longitude: float | None = None
    last_located_at: datetime | None = None
    device_first_seen_at: datetime | None = None
    payee_new_payers_24h: int = 0


def compute(ctx: PaymentContext, history: History) -> dict[str, float]:
    """Every feature of ``FEATURE_NAMES``, in that order, as floats."""
    distance_km, speed_kmh = _geo(ctx, history)
    local = ctx.occurred_at.astimezone(IST)
    features = {
        "amount_log": _log_major(ctx.amount_minor),
        "amount_to_payer_mean": _to_mean(ctx.amount_minor, history),
        "count_1h": float(history.count_1h),
        "sum_1h_log": _log_major(history.sum_1h_minor),
        "count_24h": float(history.count_24h),
        "sum_24h_log": _log_major(history.sum_24h_minor),
        "unique_payees_24h": float(history.unique_payees_24h),
        "new_payee": 0.0 if history.paid_payee_before else 1.0,
        "new_device": _new_device(ctx, history),
        "device_change": _device_change(ctx, history),
        "geo_distance_km": distance_km,
        "geo_speed_kmh": speed_kmh,
        "mcc_risk": mcc_risk(ctx.mcc),
        "hour_ist": float(local.hour),
        "weekday_ist": float(local.weekday()),
        "account_age_days": _account_age_days(ctx),
        "payee_new_payers_24h": float(history.payee_new_payers_24h),
        "rail_card": 1.0 if ctx.rail == Rail.card else 0.0,
        "rail_upi": 1.0 if ctx.rail == Rail.upi else 0.0,
    }
    return {name: features[name] for name in FEATURE_NAMES}


def mcc_risk(mcc: str | None) -> float:
    if mcc is None:
        return MCC_RISK_UNKNOWN
    return MCC_RISK.get(mcc, MCC_RISK_DEFAULT)


def haversine_km(
    latitude_a: float, longitude_a: float, latitude_b: float, longitude_b: float
) -> float:
    phi_a, phi_b = math.radians(latitude_a), math.radians(latitude_b)
    delta_phi = phi_b - phi_a
    delta_lambda = math.radians(longitude_b - longitude_a)
    chord = (
        math.sin(delta_phi / 2) ** 2
        + math.cos(phi_a) * math.cos(phi_b) * math.sin(delta_lambda / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(chord)))


def _log_major(amount_minor: int) -> float:
    return math.log1p(max(0, amount_minor) / MINOR_PER_MAJOR)


def _to_mean(amount_minor: int, history: History) -> float:
    if history.count_30d <= 0 or history.sum_30d_minor <= 0:
        return 1.0
    return amount_minor / (history.sum_30d_minor / history.count_30d)


def _new_device(ctx: PaymentContext, history: History) -> float:
    if ctx.device_id is None:
        return 1.0
    bound_at = ctx.device_bound_at or history.device_first_seen_at
    if bound_at is None:
        return 1.0
    return 1.0 if (ctx.occurred_at - bound_at).total_seconds() < NEW_DEVICE_S else 0.0


def _device_change(ctx: PaymentContext, history: History) -> float:
    if ctx.device_id is None or history.last_device_id is None:
        return 0.0
    return 0.0 if ctx.device_id == history.last_device_id else 1.0


def _geo(ctx: PaymentContext, history: History) -> tuple[float, float]:
    if (
        ctx.latitude is None
        or ctx.longitude is None
        or history.last_latitude is None
        or history.last_longitude is None
        or history.last_located_at is None
    ):
        return UNKNOWN, UNKNOWN
    distance_km = haversine_km(
        history.last_latitude, history.last_longitude, ctx.latitude, ctx.longitude
    )
    elapsed_s = max(GEO_ELAPSED_S_MIN, (ctx.occurred_at - history.last_located_at).total_seconds())
    speed_kmh = min(GEO_SPEED_KMH_MAX, distance_km / (elapsed_s / 3600))
    return distance_km, speed_kmh


def _account_age_days(ctx: PaymentContext) -> float:
    if ctx.payer_created_at is None:
        return UNKNOWN
    return max(0.0, (ctx.occurred_at - ctx.payer_created_at).total_seconds() / 86400)


@dataclass(slots=True)
class _Payer:
    payments: deque[tuple[datetime, int, str]] = field(default_factory=deque)  # at, amount, payee
    payees: set[str] = field(default_factory=set)
    last_device_id: str | None = None
    last_location: tuple[float, float, datetime] | None = None


@dataclass(slots=True)
class _Payee:
    payers: set[str] = field(default_factory=set)
    new_payers: deque[datetime] = field(default_factory=deque)


class MemoryHistory:
    """History kept in memory, for the simulator and tests: the same answers as the stores.

    Payments must be recorded in time order (a simulation's clock only moves forward); what
    falls out of the 30-day window is forgotten so a long simulation stays small.
    """

    def __init__(self) -> None:
        # Keyed by (livemode, key): test and live payments never share a history.
        self._payers: dict[tuple[bool, str], _Payer] = {}
        self._payees: dict[tuple[bool, str], _Payee] = {}
        self._devices: dict[tuple[bool, str], datetime] = {}

    def read(self, ctx: PaymentContext) -> History:
        payer = self._payers.get((ctx.livemode, ctx.payer_key)) or _Payer()
        payee = self._payees.get((ctx.livemode, ctx.payee_key)) or _Payee()
        now = ctx.occurred_at
        recent = [
            (at, amount, to) for at, amount, to in payer.payments if now - WINDOW_30D < at <= now
        ]
        day = [(at, amount, to) for at, amount, to in recent if at > now - WINDOW_24H]
        hour = [(amount) for at, amount, _ in day if at > now - WINDOW_1H]
        location = payer.last_location
        return History(
            count_1h=len(hour),
            sum_1h_minor=sum(hour),
            count_24h=len(day),
            sum_24h_minor=sum(amount for _, amount, _ in day),
            count_30d=len(recent),
            sum_30d_minor=sum(amount for _, amount, _ in recent),
            unique_payees_24h=len({to for _, _, to in day}),
            paid_payee_before=ctx.payee_key in payer.payees,
            last_device_id=payer.last_device_id,
            last_latitude=location[0] if location else None,
            last_longitude=location[1] if location else None,
            last_located_at=location[2] if location else None,
            device_first_seen_at=self._devices.get((ctx.livemode, ctx.device_id))
            if ctx.device_id
            else None,
            payee_new_payers_24h=sum(1 for at in payee.new_payers if now - WINDOW_24H < at <= now),
        )

    def record(self, ctx: PaymentContext) -> None:
        now = ctx.occurred_at
        payer = self._payers.setdefault((ctx.livemode, ctx.payer_key), _Payer())
        payee = self._payees.setdefault((ctx.livemode, ctx.payee_key), _Payee())
        payer.payments.append((now, ctx.amount_minor, ctx.payee_key))
        while payer.payments and payer.payments[0][0] <= now - WINDOW_30D:
            payer.payments.popleft()
        payer.payees.add(ctx.payee_key)
        if ctx.device_id is not None:
            payer.last_device_id = ctx.device_id
            self._devices.setdefault((ctx.livemode, ctx.device_id), now)
        if ctx.latitude is not None and ctx.longitude is not None:
            payer.last_location = (ctx.latitude, ctx.longitude, now)
        if ctx.payer_key not in payee.payers:
            payee.payers.add(ctx.payer_key)
            payee.new_payers.append(now)
            while payee.new_payers and payee.new_payers[0] <= now - WINDOW_24H:
                payee.new_payers.popleft()
