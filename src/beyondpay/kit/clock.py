"""An injectable clock, so that time-dependent rules (hold expiry, webhook retries, ids) can be
tested without sleeping.

The current clock is a module global rather than a context variable: a test that freezes time
wants every task and thread it starts to see the same frozen time. Tests swap it with
``use_clock(FrozenClock(...))``, which restores the previous clock on exit.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

__all__ = [
    "Clock",
    "FrozenClock",
    "SystemClock",
    "get_clock",
    "set_clock",
    "unix_now",
    "unix_now_ms",
    "use_clock",
    "utcnow",
]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


class Clock(Protocol):
    def now(self) -> datetime:
        """Wall-clock time, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never go backwards: for durations only."""
        ...


class SystemClock:
    """The real time of the host."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")
    return moment.astimezone(UTC)


class FrozenClock:
    """A clock that moves only when told to. ``monotonic()`` starts at 0.0 and moves forward
    with every advance, but never backwards when ``set()`` moves the wall clock back."""

    def __init__(self, start: datetime) -> None:
        self._now = _as_utc(start)
        self._monotonic_s = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._monotonic_s

    def set(self, moment: datetime) -> None:
        moment = _as_utc(moment)
        forward_s = (moment - self._now).total_seconds()
        self._monotonic_s += max(forward_s, 0.0)
        self._now = moment

    def advance(self, seconds: float | timedelta) -> None:
        step = seconds if isinstance(seconds, timedelta) else timedelta(seconds=seconds)
        if step < timedelta(0):
            raise ValueError("advance() moves forward only; use set() to go back")
        self._now += step
        self._monotonic_s += step.total_seconds()


_current: Clock = SystemClock()


def get_clock() -> Clock:
    return _current


def set_clock(clock: Clock) -> None:
    global _current  # noqa: PLW0603 -- the process-wide clock is deliberately one global
    _current = clock


@contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    """Make ``clock`` current for the block, then restore the previous one (even on error)."""
    previous = get_clock()
    set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)


def utcnow() -> datetime:
    return get_clock().now()


def unix_now() -> int:
    """Whole unix seconds, as in the API's ``created`` fields (floored, integer arithmetic)."""
    return (utcnow() - _EPOCH) // timedelta(seconds=1)


def unix_now_ms() -> int:
    """Whole unix milliseconds, for time-ordered ids."""
    return (utcnow() - _EPOCH) // timedelta(milliseconds=1)
