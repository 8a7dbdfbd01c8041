"""India's bank working days and settlement windows, pure: Sundays, the 2nd and 4th Saturdays
(from September 2015), bank holidays (national and Mumbai's), cut-off edges to the second,
ETAs across a long weekend and a year's end, and properties over any instant and schedule."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from beyondpay.settlement.windows import domain
from beyondpay.settlement.windows.domain import (
    IST,
    Schedule,
    Speed,
    cut_offs_problem,
    eta,
    is_working_day,
    next_cut_off,
    next_working_day,
    previous_cut_off,
    seconds_to_cut_off,
    window_after,
    window_at,
)

T0 = Schedule(Speed.t0)
T1 = Schedule(Speed.t1)
T2 = Schedule(Speed.t2)


def ist(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=IST)  # type: ignore[misc]


def in_ist(moment: datetime) -> datetime:
    return moment.astimezone(IST)


def test_sundays_and_the_second_and_fourth_saturdays_are_closed() -> None:
    december = [date(2026, 12, day) for day in range(1, 32)]
    saturdays = [day.day for day in december if day.weekday() == 5]
    assert saturdays == [5, 12, 19, 26]
    assert [day for day in saturdays if is_working_day(date(2026, 12, day))] == [5, 19]
    assert not any(is_working_day(day) for day in december if day.weekday() == 6)
    # A month of five Saturdays: the 5th is open, like the 1st and 3rd.
    assert [d.day for d in (date(2026, 8, n) for n in range(1, 32)) if d.weekday() == 5] == [
        1,
        8,
        15,
        22,
        29,
    ]
    assert [is_working_day(date(2026, 8, n)) for n in (1, 8, 15, 22, 29)] == [
        True,
        False,
        False,
        False,
        True,  # 15 August is Independence Day
    ]


def test_saturdays_before_rbis_rule_were_working_days() -> None:
    assert is_working_day(date(2015, 8, 8))  # the 2nd Saturday of August 2015
    assert not is_working_day(date(2015, 9, 12))  # the 2nd Saturday of September 2015
    assert not is_working_day(date(2015, 9, 26))


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 1, 26), "Republic Day"),
        (date(2026, 10, 2), "Mahatma Gandhi"),
        (date(2026, 12, 25), "Christmas"),
        (date(2026, 2, 19), "Shivaji"),  # Maharashtra's: Mumbai's banks close
        (date(2027, 1, 26), "Republic Day"),
    ],
)
def test_bank_holidays_are_closed(day: date, name: str) -> None:
    assert day.weekday() < 5
    assert not is_working_day(day)
    holiday = domain.bank_holiday_name(day)
    assert holiday is not None and name in holiday


def test_next_working_day_skips_a_long_weekend_and_a_year_end() -> None:
    # Thu 24 Dec 2026 → Fri 25 Christmas, Sat 26 the 4th Saturday, Sun 27 → Mon 28.
    assert next_working_day(date(2026, 12, 24)) == date(2026, 12, 28)
    assert next_working_day(date(2026, 12, 24), after=2) == date(2026, 12, 29)
    # Thu 31 Dec 2026 → Fri 1 Jan 2027, Sat 2 Jan (the 1st Saturday) is open.
    assert next_working_day(date(2026, 12, 31), after=2) == date(2027, 1, 2)


def test_a_cut_off_belongs_to_the_next_window_to_the_second() -> None:
    before = window_at(T0, ist(2026, 12, 7, 10, 59, 59))
    assert in_ist(before.cut_off_at) == ist(2026, 12, 7, 11, 0)
    assert in_ist(before.opens_at) == ist(2026, 12, 5, 19, 0)  # Sat 5 Dec (the 1st) is open
    assert before.id == "sw_t0_202612071100"
    at = window_at(T0, ist(2026, 12, 7, 11, 0, 0))
    assert in_ist(at.opens_at) == ist(2026, 12, 7, 11, 0)
    assert in_ist(at.cut_off_at) == ist(2026, 12, 7, 15, 0)
    assert seconds_to_cut_off(before, ist(2026, 12, 7, 10, 59, 59)) == 1
    assert seconds_to_cut_off(before, ist(2026, 12, 7, 10, 59, 59, 500_000)) == 1
    assert seconds_to_cut_off(before, ist(2026, 12, 7, 10, 0)) == 3_600
    assert seconds_to_cut_off(before, ist(2026, 12, 7, 11, 0)) == 0
    assert seconds_to_cut_off(before, ist(2026, 12, 7, 11, 0, 1)) == 0


def test_the_last_t0_cut_off_of_the_day_rolls_to_the_next_working_day() -> None:
    window = window_at(T0, ist(2026, 12, 11, 19, 0))  # Friday evening; Sat 12 is the 2nd
    assert in_ist(window.cut_off_at) == ist(2026, 12, 14, 11, 0)
    assert in_ist(window.eta) == ist(2026, 12, 14, 13, 0)


def test_etas_across_the_christmas_long_weekend() -> None:
    t0 = window_at(T0, ist(2026, 12, 24, 19, 0, 1))
    assert (in_ist(t0.cut_off_at), in_ist(t0.eta)) == (
        ist(2026, 12, 28, 11, 0),
        ist(2026, 12, 28, 13, 0),
    )
    t1 = window_at(T1, ist(2026, 12, 24, 17, 59, 59))
    assert (in_ist(t1.cut_off_at), in_ist(t1.eta)) == (
        ist(2026, 12, 24, 18, 0),
        ist(2026, 12, 28, 11, 0),
    )
    t1_after = window_at(T1, ist(2026, 12, 24, 18, 0))
    assert in_ist(t1_after.cut_off_at) == ist(2026, 12, 28, 18, 0)
    assert in_ist(t1_after.eta) == ist(2026, 12, 29, 11, 0)
    t2 = window_at(T2, ist(2026, 12, 24, 12, 0))
    assert in_ist(t2.eta) == ist(2026, 12, 29, 11, 0)


def test_windows_across_the_year_end() -> None:
    window = window_at(T1, ist(2026, 12, 31, 18, 0))
    assert in_ist(window.opens_at) == ist(2026, 12, 31, 18, 0)
    assert in_ist(window.cut_off_at) == ist(2027, 1, 1, 18, 0)
    assert window.id == "sw_t1_202701011800"
    assert in_ist(eta(Speed.t2, ist(2026, 12, 31, 18, 0))) == ist(2027, 1, 2, 11, 0)
    # Gandhi Jayanti (Fri 2 Oct 2026), then the 1st Saturday: T+1 lands on the Saturday.
    assert in_ist(eta(Speed.t1, ist(2026, 10, 1, 18, 0))) == ist(2026, 10, 3, 11, 0)


def test_a_window_after_another_opens_at_its_cut_off_under_any_schedule() -> None:
    t1 = window_at(T1, ist(2026, 12, 7, 12, 0))
    following = window_after(T0, t1.cut_off_at)  # the merchant moved to T+0
    assert following.opens_at == t1.cut_off_at
    assert in_ist(following.cut_off_at) == ist(2026, 12, 7, 19, 0)


@pytest.mark.parametrize(
    ("cut_offs", "problem"),
    [
        ((), "between 1 and 6"),
        (tuple(time(h) for h in range(9, 16)), "between 1 and 6"),
        ((time(8, 59),), "between 09:00 and 19:00"),
        ((time(19, 1),), "between 09:00 and 19:00"),
        ((time(11, 0, 30),), "whole minutes"),
        ((time(15), time(11)), "ascending"),
        ((time(11), time(11, 59)), "an hour apart"),
        ((time(11), time(11)), "ascending"),
    ],
)
def test_t0_cut_offs_have_bounds(cut_offs: tuple[time, ...], problem: str) -> None:
    found = cut_offs_problem(cut_offs)
    assert found is not None and problem in found
    if cut_offs:  # none given to a schedule means T+0's defaults
        with pytest.raises(ValueError, match=problem):
            Schedule(Speed.t0, cut_offs)


def test_schedules_and_instants_are_checked() -> None:
    assert cut_offs_problem((time(9), time(10), time(19))) is None
    assert Schedule(Speed.t0).cut_offs == domain.T0_CUT_OFFS_DEFAULT
    with pytest.raises(ValueError, match="only for t0"):
        Schedule(Speed.t1, (time(11),))
    with pytest.raises(ValueError, match="timezone-aware"):
        window_at(T0, datetime(2026, 12, 7, 11, 0))
    for text in ("11", "1100", "11:0", "aa:bb", "11-00", "25:00"):
        with pytest.raises(ValueError):
            domain.parse_cut_off(text)
    assert domain.parse_cut_off("09:30") == time(9, 30)


instants = st.datetimes(
    min_value=datetime(2016, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)
)


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    speed = draw(st.sampled_from(list(Speed)))
    if speed is not Speed.t0:
        return Schedule(speed)
    minutes = draw(st.lists(st.integers(9 * 60, 19 * 60), min_size=1, max_size=6, unique=True))
    cut_offs = tuple(time(m // 60, m % 60) for m in sorted(minutes))
    assume(cut_offs_problem(cut_offs) is None)
    return Schedule(speed, cut_offs)


@settings(max_examples=300, deadline=None)
@given(schedule=schedules(), moment=instants)
def test_every_instant_falls_in_one_window_whose_eta_is_on_a_working_day(
    schedule: Schedule, moment: datetime
) -> None:
    window = window_at(schedule, moment)
    assert window.opens_at <= moment < window.cut_off_at
    assert window.opens_at == previous_cut_off(schedule, moment)
    assert window.cut_off_at == next_cut_off(schedule, moment)
    assert window.eta >= window.cut_off_at
    cut_off_day, eta_day = in_ist(window.cut_off_at).date(), in_ist(window.eta).date()
    assert is_working_day(cut_off_day) and is_working_day(eta_day)
    assert in_ist(window.cut_off_at).time() in schedule.cut_off_times()
    working_days_between = [
        cut_off_day + timedelta(days=n)
        for n in range(1, (eta_day - cut_off_day).days + 1)
        if is_working_day(cut_off_day + timedelta(days=n))
    ]
    assert len(working_days_between) == schedule.speed.working_days_after
    # No cut-off hides between the window's ends: every day strictly between them is closed.
    opening_day = in_ist(window.opens_at).date()
    for n in range(1, (cut_off_day - opening_day).days):
        assert not is_working_day(opening_day + timedelta(days=n))
    # The chain: the next window opens at this one's cut-off.
    following = window_after(schedule, window.cut_off_at)
    assert following.opens_at == window.cut_off_at < following.cut_off_at
    assert following.id != window.id
    assert window_at(schedule, window.cut_off_at) == following


@settings(max_examples=200, deadline=None)
@given(day=st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31)))
def test_working_days_follow_the_rules(day: date) -> None:
    saturday_closed = (day.weekday() == 5 and day >= date(2015, 9, 1) and 8 <= day.day <= 14) or (
        day.weekday() == 5 and day >= date(2015, 9, 1) and 22 <= day.day <= 28
    )
    expected = day.weekday() != 6 and not saturday_closed and domain.bank_holiday_name(day) is None
    assert is_working_day(day) is expected
    following = next_working_day(day)
    assert is_working_day(following)
    assert all(
        not is_working_day(day + timedelta(days=n)) for n in range(1, (following - day).days)
    )
