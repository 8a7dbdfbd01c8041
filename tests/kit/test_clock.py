from datetime import UTC, datetime, timedelta, timezone

import pytest

from beyondpay.kit.clock import (
    FrozenClock,
    SystemClock,
    get_clock,
    set_clock,
    unix_now,
    unix_now_ms,
    use_clock,
    utcnow,
)

START = datetime(2024, 1, 2, 3, 4, 5, 678_000, tzinfo=UTC)


def test_system_clock_is_aware_utc_and_monotonic() -> None:
    clock = SystemClock()
    now = clock.now()
    assert now.tzinfo is UTC
    first = clock.monotonic()
    assert clock.monotonic() >= first


def test_frozen_clock_stands_still_until_advanced() -> None:
    clock = FrozenClock(START)
    assert clock.now() == START
    assert clock.now() == START
    assert clock.monotonic() == 0.0


def test_frozen_clock_advance_moves_both_clocks() -> None:
    clock = FrozenClock(START)
    clock.advance(1.5)
    clock.advance(timedelta(minutes=1))
    assert clock.now() == START + timedelta(seconds=61.5)
    assert clock.monotonic() == pytest.approx(61.5)


def test_frozen_clock_refuses_to_advance_backwards() -> None:
    clock = FrozenClock(START)
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_frozen_clock_set_never_moves_monotonic_backwards() -> None:
    clock = FrozenClock(START)
    clock.set(START + timedelta(seconds=10))
    assert clock.monotonic() == pytest.approx(10)
    clock.set(START)
    assert clock.now() == START
    assert clock.monotonic() == pytest.approx(10)


def test_frozen_clock_converts_to_utc_and_rejects_naive() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    clock = FrozenClock(datetime(2024, 1, 1, 5, 30, tzinfo=ist))
    assert clock.now() == datetime(2024, 1, 1, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    with pytest.raises(ValueError):
        FrozenClock(datetime(2024, 1, 1))
    with pytest.raises(ValueError):
        clock.set(datetime(2024, 1, 1))


def test_use_clock_swaps_and_restores() -> None:
    before = get_clock()
    frozen = FrozenClock(START)
    with use_clock(frozen) as current:
        assert current is frozen
        assert get_clock() is frozen
        assert utcnow() == START
        assert unix_now() == 1_704_164_645
        assert unix_now_ms() == 1_704_164_645_678
        frozen.advance(1)
        assert unix_now() == 1_704_164_646
    assert get_clock() is before


def test_use_clock_restores_after_an_error() -> None:
    before = get_clock()
    with pytest.raises(RuntimeError), use_clock(FrozenClock(START)):
        raise RuntimeError
    assert get_clock() is before


def test_set_clock_replaces_the_clock() -> None:
    before = get_clock()
    frozen = FrozenClock(START)
    try:
        set_clock(frozen)
        assert utcnow() == START
    finally:
        set_clock(before)


def test_unix_now_floors_before_the_epoch() -> None:
    with use_clock(FrozenClock(datetime(1969, 12, 31, 23, 59, 59, 500_000, tzinfo=UTC))):
        assert unix_now() == -1
        assert unix_now_ms() == -500
