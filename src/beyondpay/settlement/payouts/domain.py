"""Pure rules of payouts: the schedule (Stripe's ``interval``, ``delay_days`` and anchors) and
how it maps onto settlement windows, and which closed window pays an automatic payout. No I/O.

- ``delay_days`` is the windows' speed: 0 ↔ ``t0``, 1 ↔ ``t1``, 2 ↔ ``t2``. A window's money
  reaches the bank that many working days after its cut-off (docs/settlement.md), so Stripe's
  "days after the charge" is counted in bank working days, from the window's cut-off.
- ``daily``: every window closed pays its own net. ``weekly``: the first window that closes on
  or after ``weekly_anchor``'s day in an ISO week pays everything available, once that week.
  ``monthly``: the first window that closes on or after ``monthly_anchor``'s day (the month's
  last day when the month is shorter) pays everything available, once that month.
- ``manual``: nothing is paid automatically; the merchant makes its payouts.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Final

from beyondpay.kit.invariants import invariant

IST: Final = timezone(timedelta(hours=5, minutes=30), "IST")
DELAY_DAYS_MAX: Final = 2  # t2: the slowest settlement windows
WEEKDAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHLY_ANCHOR_MAX: Final = 31
DEFAULT_WEEKLY_ANCHOR: Final = "monday"
DEFAULT_MONTHLY_ANCHOR: Final = 1


class Interval(StrEnum):
    manual = "manual"
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"


class Status(StrEnum):
    pending = "pending"
    in_transit = "in_transit"
    paid = "paid"
    failed = "failed"
    canceled = "canceled"


OPEN_STATUSES: Final = frozenset({Status.pending.value, Status.in_transit.value})


def speed_of(delay_days: int) -> str:
    """The settlement windows' speed of a payout delay."""
    invariant(0 <= delay_days <= DELAY_DAYS_MAX, "a payout delay is 0 to 2 working days")
    return f"t{delay_days}"


def delay_days_of(speed: str) -> int:
    invariant(speed in ("t0", "t1", "t2"), "a windows speed is t0, t1 or t2")
    return int(speed[1])


def pays_period(
    interval: Interval,
    window_id: str,
    cut_off_at: datetime,
    *,
    weekly_anchor: str | None = None,
    monthly_anchor: int | None = None,
) -> str | None:
    """The period a window closed at ``cut_off_at`` pays for (its key: the window, the ISO week,
    the month), or None when this window pays nothing. A period is paid once: the first window
    of it that qualifies pays, the later ones find the period paid (payouts' unique index)."""
    local = cut_off_at.astimezone(IST)
    if interval is Interval.manual:
        return None
    if interval is Interval.daily:
        return f"window:{window_id}"
    if interval is Interval.weekly:
        anchor = WEEKDAYS.index(weekly_anchor or DEFAULT_WEEKLY_ANCHOR)
        if local.weekday() < anchor:
            return None
        year, week, _ = local.isocalendar()
        return f"week:{year}-W{week:02d}"
    days_in_month = calendar.monthrange(local.year, local.month)[1]
    anchor_day = min(monthly_anchor or DEFAULT_MONTHLY_ANCHOR, days_in_month)
    if local.day < anchor_day:
        return None
    return f"month:{local.year}-{local.month:02d}"


def trace_id(utr: str | None, status: str) -> dict[str, str | None]:
    """Stripe's ``trace_id``: the rail's reference (the RRN or UTR) once the rail gave one."""
    if utr is not None:
        return {"status": "supported", "value": utr}
    if status in (Status.failed, Status.canceled):
        return {"status": "unsupported", "value": None}
    return {"status": "pending", "value": None}
