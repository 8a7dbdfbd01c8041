"""Checkout's pure rules: a session's states and what moves it, the bounds of ``expires_at``,
the amounts of its line items, and the ``success_url`` a paid customer is sent to.

A session is ``open`` until it is paid (``complete``) or runs out of time (``expired``); both
are final. ``payment_status`` says where the money is: ``unpaid`` while open, and after
completion until a payment that completes later (UPI, net banking) succeeds; ``paid``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from beyondpay.kit.invariants import invariant
from beyondpay.kit.money import AMOUNT_MINOR_MAX, Money

EXPIRES_AFTER_S_MIN: Final = 30 * 60
EXPIRES_AFTER_S_MAX: Final = 24 * 60 * 60
EXPIRES_AFTER_S_DEFAULT: Final = EXPIRES_AFTER_S_MAX
LINE_ITEMS_MAX: Final = 100  # Stripe's limit per session in payment mode
QUANTITY_MAX: Final = 999_999
SESSION_ID_PLACEHOLDER: Final = "{CHECKOUT_SESSION_ID}"
PAYMENT_METHOD_TYPES: Final = ("card", "upi", "netbanking")


class Status(StrEnum):
    open = "open"
    complete = "complete"
    expired = "expired"


class PaymentStatus(StrEnum):
    unpaid = "unpaid"
    paid = "paid"
    no_payment_required = "no_payment_required"


class Outcome(StrEnum):
    """What a session's PaymentIntent reports, as checkout hears it."""

    submitted = "submitted"  # the payment is on its way (processing): it completes later
    succeeded = "succeeded"
    failed = "failed"


class Change(StrEnum):
    """What a session records when its PaymentIntent reports (the event's name's tail)."""

    completed = "completed"
    async_payment_succeeded = "async_payment_succeeded"
    async_payment_failed = "async_payment_failed"


@dataclass(frozen=True, slots=True)
class Heard:
    """A session after its payment's report: its state and the event to record, if any."""

    status: Status
    payment_status: PaymentStatus
    change: Change | None


def hear(status: Status, payment_status: PaymentStatus, outcome: Outcome) -> Heard:
    """What a payment's report does to a session (Stripe's order of events):

    - succeeded while open: complete and paid (``checkout.session.completed``);
    - submitted while open (a UPI or net banking payment processing): complete, still unpaid
      (``completed``), and later succeeded (``async_payment_succeeded``, paid) or failed
      (``async_payment_failed``, the session stays complete and unpaid);
    - failed while open: nothing — the customer tries again on the page;
    - anything else (a repeat, an expired session's canceled payment) changes nothing.
    """
    unchanged = Heard(status, payment_status, None)
    if status == Status.open:
        if outcome == Outcome.succeeded:
            return Heard(Status.complete, PaymentStatus.paid, Change.completed)
        if outcome == Outcome.submitted:
            return Heard(Status.complete, PaymentStatus.unpaid, Change.completed)
        return unchanged
    if status == Status.complete and payment_status == PaymentStatus.unpaid:
        if outcome == Outcome.succeeded:
            return Heard(status, PaymentStatus.paid, Change.async_payment_succeeded)
        if outcome == Outcome.failed:
            return Heard(status, payment_status, Change.async_payment_failed)
    return unchanged


def expires_at_problem(created: datetime, expires_at: datetime) -> str | None:
    """Why ``expires_at`` cannot be the session's (Stripe: 30 minutes to 24 hours away)."""
    after = expires_at - created
    if after < timedelta(seconds=EXPIRES_AFTER_S_MIN):
        return "must be at least 30 minutes from the session's creation"
    if after > timedelta(seconds=EXPIRES_AFTER_S_MAX):
        return "must be at most 24 hours from the session's creation"
    return None


def line_amount(unit_amount: int, quantity: int) -> int:
    invariant(unit_amount >= 0 and quantity >= 1, "a line has a price and a quantity")
    return unit_amount * quantity


def total(amounts: Sequence[int]) -> int | None:
    """The session's total, or None when it passes what one payment may be."""
    summed = sum(amounts)
    return summed if summed <= AMOUNT_MINOR_MAX else None


def success_url_for(success_url: str, session_id: str) -> str:
    """``success_url`` with ``{CHECKOUT_SESSION_ID}`` replaced by the session's id (Stripe's
    template variable, replaced wherever it appears)."""
    return success_url.replace(SESSION_ID_PLACEHOLDER, session_id)


def line_discounts(
    subtotals: Sequence[int], eligible: Sequence[bool], off: int, currency: str
) -> list[int]:
    """``off`` (what a discount takes off the eligible lines' sum) shared among the eligible
    lines in proportion to their subtotals, summing exactly to ``off`` (largest remainder), as
    Stripe shows a session-level discount on each line item's ``amount_discount``."""
    ratios = [
        subtotal if chosen else 0 for subtotal, chosen in zip(subtotals, eligible, strict=True)
    ]
    invariant(0 <= off <= sum(ratios), "a discount takes off at most what it applies to")
    if off == 0:
        return [0] * len(subtotals)
    shares = [share.amount_minor for share in Money(off, currency).allocate(ratios)]
    invariant(
        all(share <= subtotal for share, subtotal in zip(shares, subtotals, strict=True)),
        "no line is discounted below zero",
    )
    return shares
