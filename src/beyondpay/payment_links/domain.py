"""Payment links' pure rules: when a link opens a session, and what a completed session does
to the link's count.

A link opens a new Checkout Session per visit while it is ``active``. A link with
``restrictions.completed_sessions.limit`` counts its completed sessions; the completion that
reaches the limit deactivates the link (Stripe's way). Sessions already open then may still be
paid, as Stripe's may: the count can pass the limit by those, never by a new visit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

LINE_ITEMS_MAX: Final = 20  # Stripe's limit per payment link
CUSTOM_MESSAGE_CHARS_MAX: Final = 1_000
COMPLETED_SESSIONS_LIMIT_MAX: Final = 10_000
CONFIRMATION_DEFAULT: Final = "Thanks for your payment."


class AfterCompletion(StrEnum):
    redirect = "redirect"
    hosted_confirmation = "hosted_confirmation"


def opens_session(active: bool, completed: int, limit: int | None) -> bool:
    """Whether a visit opens a new session."""
    return active and (limit is None or completed < limit)


@dataclass(frozen=True, slots=True)
class Counted:
    completed: int
    active: bool
    deactivated: bool  # this completion reached the limit and switched the link off


def count_completion(active: bool, completed: int, limit: int | None) -> Counted:
    """One more completed session: counted; the link deactivated when it reaches the limit."""
    completed += 1
    reached = limit is not None and completed >= limit
    return Counted(completed, active and not reached, active and reached)


def reactivation_problem(completed: int, limit: int | None) -> str | None:
    """Why ``active=true`` cannot be set: the limit is reached (raise or remove it first)."""
    if limit is not None and completed >= limit:
        return (
            f"This payment link reached its limit of {limit} completed sessions: raise or remove"
            " restrictions.completed_sessions.limit to activate it."
        )
    return None
