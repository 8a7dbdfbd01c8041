"""Which closed window pays under each interval (pure), and the delay ↔ speed mapping."""

from __future__ import annotations

import pytest

from beyondpay.settlement.payouts.domain import (
    Interval,
    delay_days_of,
    pays_period,
    speed_of,
    trace_id,
)
from tests.settlement.windows.support import ist


def test_delay_days_are_the_windows_speeds() -> None:
    assert [speed_of(days) for days in (0, 1, 2)] == ["t0", "t1", "t2"]
    assert [delay_days_of(speed) for speed in ("t0", "t1", "t2")] == [0, 1, 2]


def test_daily_pays_every_window_and_manual_none() -> None:
    at = ist(2026, 12, 14, 18, 0)
    assert pays_period(Interval.daily, "sw_t1_202612141800", at) == "window:sw_t1_202612141800"
    assert pays_period(Interval.manual, "sw_t1_202612141800", at) is None


@pytest.mark.parametrize(
    ("day", "expected"),
    [(14, None), (17, None), (18, "week:2026-W51"), (19, "week:2026-W51")],
)
def test_weekly_pays_from_the_anchor_day_of_the_week(day: int, expected: str | None) -> None:
    at = ist(2026, 12, day, 18, 0)  # Monday 14 … Saturday 19 December 2026
    assert pays_period(Interval.weekly, "w", at, weekly_anchor="friday") == expected


def test_monthly_pays_from_the_anchor_or_the_months_last_day_when_shorter() -> None:
    assert pays_period(Interval.monthly, "w", ist(2026, 12, 14, 18), monthly_anchor=15) is None
    assert pays_period(Interval.monthly, "w", ist(2026, 12, 15, 18), monthly_anchor=15) == (
        "month:2026-12"
    )
    # February 2027 has 28 days: an anchor of 31 pays on the 28th.
    assert pays_period(Interval.monthly, "w", ist(2027, 2, 26, 18), monthly_anchor=31) is None
    assert pays_period(Interval.monthly, "w", ist(2027, 2, 28, 18), monthly_anchor=31) == (
        "month:2027-02"
    )


def test_the_trace_id_is_the_rails_reference() -> None:
    assert trace_id("612345678901", "paid") == {"status": "supported", "value": "612345678901"}
    assert trace_id(None, "pending") == {"status": "pending", "value": None}
    assert trace_id(None, "canceled") == {"status": "unsupported", "value": None}
