"""India's bank working days and settlement windows: pure rules, no I/O.

A bank working day in India is a day that is not a Sunday, not the 2nd or 4th Saturday of its
month (RBI, from 1 September 2015; before that every Saturday was a working half-day) and not a
bank holiday. Bank holidays come from the maintained ``holidays`` library: it has no RBI
calendar, so we use its Indian public holidays with Maharashtra's (``subdiv="MH"``), where the
settlement banks' Mumbai offices follow RBI's Mumbai list; dates of lunar festivals far ahead
are the library's estimates (docs/development.md).

A merchant's windows are the spans between consecutive cut-offs, which fall on working days only:
a window runs from the previous cut-off (included) to its own cut-off (excluded), so an instant
exactly at a cut-off belongs to the next window, and money that comes in on a Sunday waits for
Monday's first cut-off. Speeds:

- ``t0``: several cut-offs a working day (IST), the money reaches the bank the same day,
  ``T0_PROCESSING`` after its cut-off;
- ``t1`` / ``t2``: one cut-off a working day (``DAILY_CUT_OFF``), the money reaches the bank at
  ``DAILY_ETA`` on the 1st / 2nd working day after it.

All instants are timezone-aware; IST (Asia/Kolkata) has no daylight saving time.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Final
from zoneinfo import ZoneInfo

import holidays

IST: Final = ZoneInfo("Asia/Kolkata")
# RBI's circular of 20 August 2015: banks close on the 2nd and 4th Saturdays from 1 Sept 2015.
SECOND_FOURTH_SATURDAYS_FROM: Final = date(2015, 9, 1)
HOLIDAY_SUBDIVISION: Final = "MH"

T0_CUT_OFFS_DEFAULT: Final = (time(11, 0), time(15, 0), time(19, 0))
T0_CUT_OFF_EARLIEST: Final = time(9, 0)
T0_CUT_OFF_LATEST: Final = time(19, 0)
T0_CUT_OFFS_MAX: Final = 6
# Cut-offs closer than this cannot both be processed: the earlier batch would still be running.
T0_CUT_OFF_GAP_MIN: Final = timedelta(hours=1)
T0_PROCESSING: Final = timedelta(hours=2)
DAILY_CUT_OFF: Final = time(18, 0)
DAILY_ETA: Final = time(11, 0)
# Long enough for any run of holidays (Diwali, a long weekend, year-end closures together).
WORKING_DAY_SEARCH_DAYS_MAX: Final = 30


class Speed(StrEnum):
    t0 = "t0"
    t1 = "t1"
    t2 = "t2"

    @property
    def working_days_after(self) -> int:
        return {Speed.t0: 0, Speed.t1: 1, Speed.t2: 2}[self]


SPEED_DEFAULT: Final = Speed.t1


@functools.cache
def _bank_holidays() -> holidays.HolidayBase:
    # One calendar for the process; the library fills in a year the first time it is asked.
    return holidays.country_holidays("IN", subdiv=HOLIDAY_SUBDIVISION)


def bank_holiday_name(day: date) -> str | None:
    name = _bank_holidays().get(day)
    return None if name is None else str(name)


def is_closed_saturday(day: date) -> bool:
    """The 2nd or 4th Saturday of its month, from the day RBI's rule began."""
    if day.weekday() != 5 or day < SECOND_FOURTH_SATURDAYS_FROM:
        return False
    return (day.day - 1) // 7 in (1, 3)


def is_working_day(day: date) -> bool:
    if day.weekday() == 6 or is_closed_saturday(day):
        return False
    return bank_holiday_name(day) is None


def next_working_day(day: date, *, after: int = 1) -> date:
    """The ``after``-th working day strictly after ``day``."""
    found = 0
    for offset in range(1, (after + 1) * WORKING_DAY_SEARCH_DAYS_MAX):
        candidate = day + timedelta(days=offset)
        if is_working_day(candidate):
            found += 1
            if found == after:
                return candidate
    raise AssertionError(f"no {after} working days within a search after {day}")


@dataclass(frozen=True)
class Schedule:
    """A merchant's schedule: its speed and, for ``t0``, its cut-offs (IST, ascending)."""

    speed: Speed = SPEED_DEFAULT
    cut_offs: tuple[time, ...] = ()

    def __post_init__(self) -> None:
        if self.speed is Speed.t0:
            if not self.cut_offs:
                object.__setattr__(self, "cut_offs", T0_CUT_OFFS_DEFAULT)
            problem = cut_offs_problem(self.cut_offs)
            if problem is not None:
                raise ValueError(problem)
        elif self.cut_offs:
            raise ValueError("cut-offs are chosen only for t0")

    def cut_off_times(self) -> tuple[time, ...]:
        return self.cut_offs if self.speed is Speed.t0 else (DAILY_CUT_OFF,)


def cut_offs_problem(cut_offs: tuple[time, ...]) -> str | None:
    """Why ``cut_offs`` are not a valid T+0 day, or None: 1 to ``T0_CUT_OFFS_MAX`` whole minutes
    between ``T0_CUT_OFF_EARLIEST`` and ``T0_CUT_OFF_LATEST``, ascending, an hour apart at least
    (the latest plus ``T0_PROCESSING`` still reaches the bank that evening)."""
    if not 1 <= len(cut_offs) <= T0_CUT_OFFS_MAX:
        return f"give between 1 and {T0_CUT_OFFS_MAX} cut-offs"
    for cut_off in cut_offs:
        if cut_off.second or cut_off.microsecond or cut_off.tzinfo is not None:
            return "cut-offs are whole minutes, HH:MM in IST"
        if not T0_CUT_OFF_EARLIEST <= cut_off <= T0_CUT_OFF_LATEST:
            return (
                f"cut-offs must fall between {T0_CUT_OFF_EARLIEST:%H:%M} and "
                f"{T0_CUT_OFF_LATEST:%H:%M} IST"
            )
    for earlier, later in itertools.pairwise(cut_offs):
        gap = datetime.combine(date.min, later) - datetime.combine(date.min, earlier)
        if gap < T0_CUT_OFF_GAP_MIN:
            return "cut-offs must be ascending and at least an hour apart"
    return None


@dataclass(frozen=True)
class Window:
    """One settlement window: money that becomes available in [opens_at, cut_off_at) settles
    together and reaches the bank at ``eta``. Instants in UTC."""

    speed: Speed
    opens_at: datetime
    cut_off_at: datetime
    eta: datetime

    @property
    def id(self) -> str:
        """Deterministic within a merchant and mode: the speed and the cut-off in IST."""
        return window_id(self.speed, self.cut_off_at)


def window_id(speed: Speed, cut_off_at: datetime) -> str:
    return f"sw_{speed.value}_{cut_off_at.astimezone(IST):%Y%m%d%H%M}"


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("instants must be timezone-aware")
    return moment.astimezone(UTC)


def _cut_offs_on(schedule: Schedule, day: date) -> list[datetime]:
    if not is_working_day(day):
        return []
    return [
        datetime.combine(day, at, tzinfo=IST).astimezone(UTC) for at in schedule.cut_off_times()
    ]


def next_cut_off(schedule: Schedule, moment: datetime) -> datetime:
    """The first cut-off strictly after ``moment``."""
    moment = _aware(moment)
    day = moment.astimezone(IST).date()
    for offset in range(WORKING_DAY_SEARCH_DAYS_MAX):
        for cut_off in _cut_offs_on(schedule, day + timedelta(days=offset)):
            if cut_off > moment:
                return cut_off
    raise AssertionError(f"no cut-off within a search after {moment}")


def previous_cut_off(schedule: Schedule, moment: datetime) -> datetime:
    """The last cut-off at or before ``moment``."""
    moment = _aware(moment)
    day = moment.astimezone(IST).date()
    for offset in range(WORKING_DAY_SEARCH_DAYS_MAX):
        for cut_off in reversed(_cut_offs_on(schedule, day - timedelta(days=offset))):
            if cut_off <= moment:
                return cut_off
    raise AssertionError(f"no cut-off within a search before {moment}")


def eta(speed: Speed, cut_off_at: datetime) -> datetime:
    """When a window's money reaches the bank: T+0 the cut-off's processing time later, the same
    working day; T+n at ``DAILY_ETA`` on the n-th working day after the cut-off's."""
    cut_off_at = _aware(cut_off_at)
    if speed is Speed.t0:
        return cut_off_at + T0_PROCESSING
    day = next_working_day(cut_off_at.astimezone(IST).date(), after=speed.working_days_after)
    return datetime.combine(day, DAILY_ETA, tzinfo=IST).astimezone(UTC)


def window_at(schedule: Schedule, moment: datetime) -> Window:
    """The window ``moment`` falls in."""
    cut_off_at = next_cut_off(schedule, moment)
    return Window(
        speed=schedule.speed,
        opens_at=previous_cut_off(schedule, moment),
        cut_off_at=cut_off_at,
        eta=eta(schedule.speed, cut_off_at),
    )


def window_after(schedule: Schedule, opens_at: datetime) -> Window:
    """The window that opens at ``opens_at`` (the previous window's cut-off, whatever schedule
    it was cut under): the chain of a merchant's windows has no gap."""
    cut_off_at = next_cut_off(schedule, opens_at)
    return Window(
        speed=schedule.speed,
        opens_at=_aware(opens_at),
        cut_off_at=cut_off_at,
        eta=eta(schedule.speed, cut_off_at),
    )


def seconds_to_cut_off(window: Window, now: datetime) -> int:
    """Whole seconds left, rounded up (a countdown shows 1 until the cut-off, never 0 early)."""
    left = window.cut_off_at - _aware(now)
    if left <= timedelta(0):
        return 0
    microseconds = left // timedelta(microseconds=1)
    return -(-microseconds // 1_000_000)


def parse_cut_off(text: str) -> time:
    """``HH:MM`` (IST) into a time; ValueError otherwise."""
    hours, sep, minutes = text.partition(":")
    if not sep or len(hours) != 2 or len(minutes) != 2 or not (hours + minutes).isdigit():
        raise ValueError("a cut-off is HH:MM")
    return time(int(hours), int(minutes))
