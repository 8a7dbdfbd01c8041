"""Limits and controls: pure rules over policies held as data. No I/O.

A policy is one row of data; every policy of a scope (a merchant ``acct_…`` or a PSP payer
``pyr_…``) that matches a payment is evaluated in a fixed order, and the first that refuses
names itself in the decision:

1. deny lists, 2. allow lists, 3. MCC allow/deny, 4. time-of-day windows (IST),
5. geo windows, 6. per-transaction caps, 7. caps per day / month (counted by the store).

Periods are IST calendar days and months, as Indian banks and NPCI count them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

IST: Final = ZoneInfo("Asia/Kolkata")
MINUTES_PER_DAY: Final = 1_440
EARTH_RADIUS_M: Final = 6_371_008.8
# A counter outlives its window by this much, so a clock a little behind still finds it.
COUNTER_GRACE_S: Final = 3_600


class Kind(StrEnum):
    cap = "cap"
    mcc = "mcc"
    time_window = "time_window"
    geo_window = "geo_window"
    list = "list"


class Subject(StrEnum):
    """Whose payments a cap or list counts or names."""

    payer = "payer"
    merchant = "merchant"
    vpa = "vpa"
    device = "device"
    ip = "ip"


class Period(StrEnum):
    transaction = "transaction"
    day = "day"
    month = "month"


class Action(StrEnum):
    allow = "allow"
    deny = "deny"


# Subjects a cap may count by: an IP is not a stable identity to count money against.
CAP_SUBJECTS: Final = frozenset({Subject.payer, Subject.merchant, Subject.vpa, Subject.device})

# Stable codes a caller may switch on, and the NPCI response code a UPI payment answers with.
CODE_DENY_LIST: Final = "limits_deny_listed"
CODE_ALLOW_LIST: Final = "limits_not_allow_listed"
CODE_MCC: Final = "limits_mcc_not_allowed"
CODE_TIME_WINDOW: Final = "limits_outside_time_window"
CODE_GEO_WINDOW: Final = "limits_outside_geo_window"
CODE_TRANSACTION_AMOUNT: Final = "limits_transaction_amount_exceeded"
CODE_PERIOD_AMOUNT: Final = "limits_amount_exceeded"
CODE_PERIOD_COUNT: Final = "limits_count_exceeded"
CODE_UNAVAILABLE: Final = "limits_unavailable"

NPCI_NOT_PERMITTED: Final = "B3"
NPCI_FREQUENCY: Final = "Z7"
NPCI_TRANSACTION_LIMIT: Final = "Z8"


@dataclass(frozen=True, slots=True)
class LimitContext:
    """One payment as the caller (payments' confirmation, the PSP's pay) sees it, as plain data.
    Keys are pseudonymous: ``vpa_key`` is the VPA's keyed fingerprint in hex, never the VPA."""

    scope: str
    livemode: bool
    payment_id: str
    amount_minor: int
    currency: str
    occurred_at: datetime
    payer_key: str | None = None
    merchant_id: str | None = None
    vpa_key: str | None = None
    device_id: str | None = None
    mcc: str | None = None
    ip: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    segment: str = "default"


@dataclass(frozen=True, slots=True)
class LimitDecision:
    allowed: bool
    policy_id: str | None
    reason: str
    code: str | None
    npci_code: str | None


ALLOWED: Final = LimitDecision(
    allowed=True, policy_id=None, reason="within every policy", code=None, npci_code=None
)


@dataclass(frozen=True, slots=True)
class Policy:
    """A policy as the rules read it (a row of ``limit_policies`` without its bookkeeping)."""

    id: str
    kind: Kind
    action: Action = Action.deny
    subject: Subject | None = None
    period: Period | None = None
    amount_minor_max: int | None = None
    count_max: int | None = None
    currency: str | None = None
    mccs: tuple[str, ...] = ()
    start_minute: int | None = None
    end_minute: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    radius_m: int | None = None
    values: frozenset[str] = field(default_factory=frozenset)
    segment: str | None = None


@dataclass(frozen=True, slots=True)
class Increment:
    """One counter a reservation adds to, with the cap it must stay within."""

    key: str
    policy_id: str
    amount_minor: int
    amount_minor_max: int | None
    count_max: int | None
    expires_at: datetime


def subject_value(ctx: LimitContext, subject: Subject) -> str | None:
    values = {
        Subject.payer: ctx.payer_key,
        Subject.merchant: ctx.merchant_id,
        Subject.vpa: ctx.vpa_key,
        Subject.device: ctx.device_id,
        Subject.ip: ctx.ip,
    }
    return values[subject]


def applies(policy: Policy, ctx: LimitContext) -> bool:
    """A policy with a segment binds only that segment's payments; a cap only its currency."""
    if policy.segment is not None and policy.segment != ctx.segment:
        return False
    return policy.currency is None or policy.currency == ctx.currency.lower()


def minute_ist(moment: datetime) -> int:
    local = moment.astimezone(IST)
    return local.hour * 60 + local.minute


def in_time_window(minute: int, start_minute: int, end_minute: int) -> bool:
    """``[start, end)`` in minutes of the IST day; a window whose end is before its start runs
    over midnight (22:00 to 06:00)."""
    if start_minute <= end_minute:
        return start_minute <= minute < end_minute
    return minute >= start_minute or minute < end_minute


def distance_m(
    latitude_a: float, longitude_a: float, latitude_b: float, longitude_b: float
) -> float:
    """Great-circle distance (haversine): within a fraction of a percent at city scale."""
    phi_a, phi_b = math.radians(latitude_a), math.radians(latitude_b)
    delta_phi = phi_b - phi_a
    delta_lambda = math.radians(longitude_b - longitude_a)
    half = (
        math.sin(delta_phi / 2) ** 2
        + math.cos(phi_a) * math.cos(phi_b) * math.sin(delta_lambda / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(half)))


def period_window(period: Period, moment: datetime) -> tuple[str, datetime]:
    """The IST window a payment at ``moment`` counts in: its label and when it ends (UTC)."""
    local = moment.astimezone(IST)
    if period is Period.day:
        start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + timedelta(days=1)
        label = start.strftime("%Y-%m-%d")
    else:
        start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        following = start + timedelta(days=32)
        end = following.replace(day=1)
        label = start.strftime("%Y-%m")
    # Re-attach the zone: adding days across a DST-free zone is exact, but keep it explicit.
    end = end.replace(tzinfo=IST)
    return label, end.astimezone(UTC)


def _refusal(policy: Policy, reason: str, code: str, npci_code: str) -> LimitDecision:
    return LimitDecision(
        allowed=False, policy_id=policy.id, reason=reason, code=code, npci_code=npci_code
    )


def _list_refusal(policy: Policy, ctx: LimitContext) -> LimitDecision | None:
    assert policy.subject is not None
    value = subject_value(ctx, policy.subject)
    listed = value is not None and value in policy.values
    if policy.action is Action.deny and listed:
        return _refusal(
            policy, f"the {policy.subject} is on a deny list", CODE_DENY_LIST, NPCI_NOT_PERMITTED
        )
    if policy.action is Action.allow and not listed:
        return _refusal(
            policy,
            f"the {policy.subject} is not on the allow list",
            CODE_ALLOW_LIST,
            NPCI_NOT_PERMITTED,
        )
    return None


def _mcc_refusal(policy: Policy, ctx: LimitContext) -> LimitDecision | None:
    listed = ctx.mcc is not None and ctx.mcc in policy.mccs
    if (policy.action is Action.deny and listed) or (policy.action is Action.allow and not listed):
        shown = ctx.mcc if ctx.mcc is not None else "unknown"
        return _refusal(
            policy, f"merchant category {shown} is not allowed", CODE_MCC, NPCI_NOT_PERMITTED
        )
    return None


def _time_refusal(policy: Policy, ctx: LimitContext) -> LimitDecision | None:
    assert policy.start_minute is not None and policy.end_minute is not None
    inside = in_time_window(minute_ist(ctx.occurred_at), policy.start_minute, policy.end_minute)
    if (policy.action is Action.deny and inside) or (policy.action is Action.allow and not inside):
        window = f"{_clock(policy.start_minute)}-{_clock(policy.end_minute)} IST"
        verb = "inside" if inside else "outside"
        return _refusal(
            policy, f"payment {verb} the window {window}", CODE_TIME_WINDOW, NPCI_NOT_PERMITTED
        )
    return None


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _geo_refusal(policy: Policy, ctx: LimitContext) -> LimitDecision | None:
    assert policy.latitude is not None and policy.longitude is not None
    assert policy.radius_m is not None
    if ctx.latitude is None or ctx.longitude is None:
        # An unknown place is outside every area: an allow window cannot be passed by hiding.
        inside = False
    else:
        metres = distance_m(policy.latitude, policy.longitude, ctx.latitude, ctx.longitude)
        inside = metres <= policy.radius_m
    if (policy.action is Action.deny and inside) or (policy.action is Action.allow and not inside):
        verb = "inside" if inside else "outside (or without)"
        return _refusal(
            policy, f"payment location {verb} the area", CODE_GEO_WINDOW, NPCI_NOT_PERMITTED
        )
    return None


def _transaction_refusal(policy: Policy, ctx: LimitContext) -> LimitDecision | None:
    assert policy.amount_minor_max is not None
    if ctx.amount_minor > policy.amount_minor_max:
        return _refusal(
            policy,
            f"amount over the per-transaction cap of {policy.amount_minor_max} minor units",
            CODE_TRANSACTION_AMOUNT,
            NPCI_TRANSACTION_LIMIT,
        )
    return None


_KIND_RANK: Final = {Kind.list: 1, Kind.mcc: 2, Kind.time_window: 3, Kind.geo_window: 4}


def _order_key(policy: Policy) -> tuple[int, str]:
    # Deny lists first, then allow lists, the kinds in the documented order, caps last; ties by
    # id, so the same policies always decide the same way.
    if policy.kind is Kind.list and policy.action is Action.deny:
        return 0, policy.id
    return _KIND_RANK.get(policy.kind, 5), policy.id


def evaluate(policies: Iterable[Policy], ctx: LimitContext) -> LimitDecision | None:
    """The first refusal of every policy but the counted caps, in the fixed order; None if
    every one passes."""
    ordered = sorted((p for p in policies if applies(p, ctx)), key=_order_key)
    for policy in ordered:
        refusal: LimitDecision | None = None
        if policy.kind is Kind.list:
            refusal = _list_refusal(policy, ctx)
        elif policy.kind is Kind.mcc:
            refusal = _mcc_refusal(policy, ctx)
        elif policy.kind is Kind.time_window:
            refusal = _time_refusal(policy, ctx)
        elif policy.kind is Kind.geo_window:
            refusal = _geo_refusal(policy, ctx)
        elif policy.period is Period.transaction:
            refusal = _transaction_refusal(policy, ctx)
        if refusal is not None:
            return refusal
    return None


def increments(policies: Iterable[Policy], ctx: LimitContext) -> list[Increment]:
    """The counters of every day/month cap this payment counts against, sorted by key (the
    order both stores lock or check them in). A cap whose subject the payment does not name
    (no device, say) has nothing to count by and does not apply."""
    found: list[Increment] = []
    for policy in policies:
        if policy.kind is not Kind.cap or policy.period not in (Period.day, Period.month):
            continue
        if not applies(policy, ctx):
            continue
        assert policy.subject is not None and policy.period is not None
        value = subject_value(ctx, policy.subject)
        if value is None:
            continue
        label, ends_at = period_window(policy.period, ctx.occurred_at)
        found.append(
            Increment(
                key=f"{policy.id}:{policy.subject}:{value}:{label}",
                policy_id=policy.id,
                amount_minor=ctx.amount_minor,
                amount_minor_max=policy.amount_minor_max,
                count_max=policy.count_max,
                expires_at=ends_at + timedelta(seconds=COUNTER_GRACE_S),
            )
        )
    return sorted(found, key=lambda increment: increment.key)


def cap_refusal(policy_id: str, amount_exceeded: bool, policies: Sequence[Policy]) -> LimitDecision:
    """The refusal of the cap the store found full."""
    policy = next(p for p in policies if p.id == policy_id)
    period = policy.period or Period.day
    if amount_exceeded:
        adjective = "daily" if period is Period.day else "monthly"
        return _refusal(
            policy,
            f"amount over the {adjective} cap of {policy.amount_minor_max} minor units"
            f" per {policy.subject}",
            CODE_PERIOD_AMOUNT,
            NPCI_TRANSACTION_LIMIT,
        )
    return _refusal(
        policy,
        f"more than {policy.count_max} payments a {period} per {policy.subject}",
        CODE_PERIOD_COUNT,
        NPCI_FREQUENCY,
    )


UNAVAILABLE: Final = LimitDecision(
    allowed=False,
    policy_id=None,
    reason="the limit counters cannot be reached; refused rather than let a cap be passed",
    code=CODE_UNAVAILABLE,
    npci_code=None,
)


# The parameters each kind uses; any other given is a mistake worth naming.
_KIND_FIELDS: Final = {
    Kind.cap: frozenset({"subject", "period", "amount_max", "count_max", "currency"}),
    Kind.mcc: frozenset({"action", "mccs"}),
    Kind.time_window: frozenset({"action", "start_minute", "end_minute"}),
    Kind.geo_window: frozenset({"action", "latitude", "longitude", "radius_m"}),
    Kind.list: frozenset({"action", "subject", "values"}),
}
_KIND_REQUIRED: Final = {
    Kind.cap: ("subject", "period"),
    Kind.mcc: ("mccs",),
    Kind.time_window: ("start_minute", "end_minute"),
    Kind.geo_window: ("latitude", "longitude", "radius_m"),
    Kind.list: ("subject", "values"),
}
SHAPED_FIELDS: Final = frozenset().union(*_KIND_FIELDS.values())


def shape_problem(kind: Kind, given: dict[str, object]) -> tuple[str, str] | None:
    """``(param, message)`` of the first parameter that does not fit ``kind``; ``given`` holds
    the shaped parameters that are set (not None, not empty)."""
    for name in sorted(given):
        if name in SHAPED_FIELDS and name not in _KIND_FIELDS[kind]:
            return name, f"A {kind} policy does not take {name}."
    for name in _KIND_REQUIRED[kind]:
        if name not in given:
            return name, f"A {kind} policy needs {name}."
    if kind is Kind.cap:
        return _cap_problem(given)
    if kind is Kind.time_window and given["start_minute"] == given["end_minute"]:
        return "end_minute", "A time window needs an end different from its start."
    return None


def _cap_problem(given: dict[str, object]) -> tuple[str, str] | None:
    if given["subject"] not in CAP_SUBJECTS:
        return "subject", "A cap counts by payer, merchant, vpa or device."
    if given["period"] == Period.transaction:
        if "count_max" in given:
            return "count_max", "A per-transaction cap takes amount_max only."
        if "amount_max" not in given:
            return "amount_max", "A per-transaction cap needs amount_max."
    elif "amount_max" not in given and "count_max" not in given:
        return "amount_max", "A cap needs amount_max, count_max or both."
    return None
