"""The rules of a test clock, pure (no I/O): its statuses, how far it may be advanced, when it
deletes itself.

Stripe's rules (API reference, "Advance a test clock"): the new ``frozen_time`` must be after
the clock's current one and, with no subscription on the clock (none exist here yet), at most
two years ahead of it; a clock is deleted automatically some time after its creation. The
statuses: ``ready`` → ``advancing`` → ``ready``, or ``internal_failure`` when an advance could
not be completed (the clock then stays at its old time and may be advanced again).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Final

from beyondpay.kit.errors import InvalidRequestError

ADVANCE_YEARS_MAX: Final = 2
# Stripe's guide deletes a clock 30 days after it was created (the API reference's example
# object shows 7 days; the guide is the statement of the rule).
DELETES_AFTER_DAYS: Final = 30
NAME_CHARS_MAX: Final = 300  # Stripe's limit on ``name``
CUSTOMERS_PER_CLOCK_MAX: Final = 3  # Stripe's limit on customers attached to one clock
FROZEN_TIME_S_MAX: Final = 253_402_300_799  # 9999-12-31: the last second a datetime holds


class Status(StrEnum):
    ready = "ready"
    advancing = "advancing"
    internal_failure = "internal_failure"


@dataclass(frozen=True, slots=True)
class ClockTime:
    """A clock and its frozen time: the time of every object attached to it."""

    clock_id: str
    frozen_time: datetime


# Where an advance may start: a clock whose last advance failed is still at its old time.
ADVANCEABLE: Final = frozenset({Status.ready, Status.internal_failure})


def moment(unix_s: int) -> datetime:
    return datetime.fromtimestamp(unix_s, tz=UTC)


def unix_s(at: datetime) -> int:
    return int(at.timestamp())


def years_later(at: datetime, years: int) -> datetime:
    """The same calendar moment ``years`` later (29 February becomes 28 February)."""
    try:
        return at.replace(year=at.year + years)
    except ValueError:
        return at.replace(year=at.year + years, day=28)


def latest_advance(frozen_time: datetime) -> datetime:
    return years_later(frozen_time, ADVANCE_YEARS_MAX)


def check_advance(frozen_time: datetime, target_s: int) -> datetime:
    """The moment ``target_s`` names, if the clock at ``frozen_time`` may advance to it."""
    current_s = unix_s(frozen_time)
    if target_s <= current_s:
        raise InvalidRequestError(
            f"The frozen_time must be after the test clock's current frozen time ({current_s}).",
            param="frozen_time",
        )
    latest = latest_advance(frozen_time)
    if target_s > min(unix_s(latest), FROZEN_TIME_S_MAX):
        raise InvalidRequestError(
            f"The frozen_time cannot be more than {ADVANCE_YEARS_MAX} years after the test"
            f" clock's current frozen time ({current_s}): at most {unix_s(latest)}.",
            param="frozen_time",
        )
    return moment(target_s)


def deletes_after(created_at: datetime) -> datetime:
    return created_at + timedelta(days=DELETES_AFTER_DAYS)
