"""Dunning: when to charge a subscription's invoice again after a failure, on India's rails, and
what happens to the subscription after the last try. Pure: no I/O; times in UTC.

A merchant's schedule (:class:`DunningSettings`) starts from Stripe's recommended Smart Retries
policy, 8 tries within 2 weeks, written as fixed offsets after the first failure. The rail then
bends it, never earlier than the offset (docs/billing.md, "Dunning", gives the sources):

- **Cards issued in India** (RBI's e-mandate framework for recurring card payments, 2019, as
  amended): the customer gets a pre-debit notification at least 24 hours before *each* charge,
  so every try has its own notification and its charge comes 24 hours (plus an hour for
  delivery) after it; and a charge above ₹15,000 (₹1,00,000 for mutual funds, insurance premiums
  and credit-card bills) needs the customer's additional authentication: such a try is never
  made off-session; the invoice waits for the customer (``requires_action``, a hosted link
  emailed at the notification time).
- **UPI Autopay** (the seam for mandates): the same notice and authentication limits; a debit
  executes only outside 10:00-13:00 and 17:00-21:30 IST; one attempt and at most 3 retries.
- **Cards issued elsewhere**: Stripe's plain retries at the offsets.

After the last try the subscription goes ``unpaid`` or ``canceled`` (or stays ``past_due``) as
the merchant set, never before the end of a period the customer has already paid for.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from beyondpay.billing.subscriptions.domain import (
    Circumstances,
    Event,
    FinalAction,
    Status,
    as_utc,
    next_status,
)
from beyondpay.billing.subscriptions.errors import RetryScheduleInvalidError

# RBI: the issuer notifies the customer at least 24 hours before the actual charge; NPCI asks
# the same of UPI Autopay. The hour more is for the notification's delivery, as PSPs do (they
# notify 24 hours ahead and debit in the 25th hour).
PRE_DEBIT_NOTICE_S: Final = 24 * 3_600
NOTICE_DELIVERY_S: Final = 3_600
# A try's answer is awaited this long before the next try is announced or made: a notice for a
# charge that the previous try may have made needless would mislead the customer. A card answers
# in seconds; a UPI debit that stays pending longer is re-planned from its real answer.
OUTCOME_WAIT_S: Final = 3_600
# RBI: recurring debits on an e-mandate need no additional authentication up to ₹15,000
# (June 2022), ₹1,00,000 for mutual funds, insurance premiums and credit-card bills (Dec 2023).
AFA_EXEMPT_AMOUNT_MINOR_MAX: Final = 15_000_00
AFA_EXEMPT_HIGH_AMOUNT_MINOR_MAX: Final = 1_00_000_00
# NPCI (August 2025): an Autopay debit gets one attempt and at most three retries, executed only
# outside the peak hours below (IST, start inclusive, end exclusive, seconds after midnight).
UPI_AUTOPAY_RETRY_COUNT_MAX: Final = 3
UPI_AUTOPAY_PEAK_WINDOWS_IST_S: Final = ((10 * 3_600, 13 * 3_600), (17 * 3_600, 21 * 3_600 + 1_800))
# India Standard Time is UTC+05:30 all year (no daylight saving): a fixed offset.
_IST_OFFSET: Final = timedelta(hours=5, minutes=30)
# Stripe's Smart Retries allow up to 8 tries within at most 2 months.
RETRY_COUNT_MAX: Final = 8
RETRY_WINDOW_S_MAX: Final = 60 * 86_400
# Stripe's recommended policy, 8 tries within 2 weeks, as fixed offsets after the first failure:
# front-loaded, as most recoverable failures (insufficient funds before payday, a blip at the
# issuer) clear within days.
DEFAULT_RETRY_OFFSETS: Final = tuple(timedelta(days=days) for days in (1, 2, 3, 5, 7, 9, 11, 14))


class Rail(StrEnum):
    """How a renewal is charged, as far as dunning's rules go."""

    card_india = "card_india"  # a card issued in India: RBI's e-mandate on cards
    card_foreign = "card_foreign"  # a card issued elsewhere: no pre-debit rule
    upi_autopay = "upi_autopay"  # a UPI Autopay mandate (wired when mandates land)


_NOTIFIED_RAILS: Final = frozenset({Rail.card_india, Rail.upi_autopay})


class MandateCategory(StrEnum):
    """What the merchant sells, as RBI's authentication limits tell it apart."""

    standard = "standard"
    mutual_fund = "mutual_fund"
    insurance_premium = "insurance_premium"
    credit_card_bill = "credit_card_bill"


class FinalInvoice(StrEnum):
    """What becomes of the invoice after the last try (Stripe's settings)."""

    leave_open = "leave_open"  # the customer may still pay it
    mark_uncollectible = "mark_uncollectible"


@dataclass(frozen=True)
class DunningSettings:
    """A merchant's retry schedule and what follows its last try."""

    retry_offsets: tuple[timedelta, ...] = DEFAULT_RETRY_OFFSETS
    final_action: FinalAction = FinalAction.cancel
    final_invoice: FinalInvoice = FinalInvoice.leave_open
    mandate_category: MandateCategory = MandateCategory.standard

    def __post_init__(self) -> None:
        _check_offsets(self.retry_offsets)


def _check_offsets(offsets: tuple[timedelta, ...], param: str = "retry_offsets") -> None:
    if len(offsets) > RETRY_COUNT_MAX:
        raise RetryScheduleInvalidError(
            f"At most {RETRY_COUNT_MAX} retries can be scheduled.", param=param
        )
    if any(offset <= timedelta(0) for offset in offsets):
        raise RetryScheduleInvalidError("Every retry comes after the failure.", param=param)
    if any(later <= earlier for earlier, later in itertools.pairwise(offsets)):
        raise RetryScheduleInvalidError("Retries must be in increasing order.", param=param)
    if offsets and offsets[-1] > timedelta(seconds=RETRY_WINDOW_S_MAX):
        raise RetryScheduleInvalidError(
            f"The last retry must come within {RETRY_WINDOW_S_MAX // 86_400} days.", param=param
        )


@dataclass(frozen=True)
class Attempt:
    """One try at an invoice. ``number`` 0 is the renewal's own charge; 1 and up are retries.

    With ``notify_at`` set, the pre-debit notification goes then, and nothing is charged before
    ``charge_at``. With ``needs_authentication``, nothing is charged off-session at all: at
    ``notify_at`` the invoice becomes ``requires_action`` and its hosted link is emailed, and if
    it is still unpaid at ``charge_at`` the try counts as failed.
    """

    number: int
    rail: Rail
    notify_at: datetime | None
    charge_at: datetime
    needs_authentication: bool

    @property
    def off_session(self) -> bool:
        return not self.needs_authentication


def authentication_limit_minor(category: MandateCategory = MandateCategory.standard) -> int:
    """The largest recurring debit RBI lets go without additional authentication."""
    if category is MandateCategory.standard:
        return AFA_EXEMPT_AMOUNT_MINOR_MAX
    return AFA_EXEMPT_HIGH_AMOUNT_MINOR_MAX


def needs_authentication(
    rail: Rail,
    amount_minor: int,
    category: MandateCategory = MandateCategory.standard,
    *,
    mandate_amount_max_minor: int | None = None,
) -> bool:
    """Whether a recurring charge of ``amount_minor`` paise needs the customer: on India's rails,
    above RBI's limit for the category, or above what the mandate itself allows."""
    if rail not in _NOTIFIED_RAILS:
        return False
    limit = authentication_limit_minor(category)
    if mandate_amount_max_minor is not None:
        limit = min(limit, mandate_amount_max_minor)
    return amount_minor > limit


def notice_lead(rail: Rail) -> timedelta:
    """How long before a charge its pre-debit notification goes (zero: no notification)."""
    if rail not in _NOTIFIED_RAILS:
        return timedelta(0)
    return timedelta(seconds=PRE_DEBIT_NOTICE_S + NOTICE_DELIVERY_S)


def execution_allowed(rail: Rail, moment: datetime) -> bool:
    """Whether ``rail`` may execute a recurring debit at ``moment``."""
    return next_execution_time(rail, moment) == as_utc(moment)


def next_execution_time(rail: Rail, moment: datetime) -> datetime:
    """The earliest moment from ``moment`` on when ``rail`` may execute a recurring debit:
    ``moment`` itself, or for UPI Autopay the end of the peak window it falls in."""
    moment = as_utc(moment)
    if rail is not Rail.upi_autopay:
        return moment
    local = moment + _IST_OFFSET  # still UTC-typed: only its wall-clock fields are read
    since_midnight = local - local.replace(hour=0, minute=0, second=0, microsecond=0)
    for start_s, end_s in UPI_AUTOPAY_PEAK_WINDOWS_IST_S:
        start, end = timedelta(seconds=start_s), timedelta(seconds=end_s)
        if start <= since_midnight < end:
            # The windows are hours apart: the end of one is outside every other.
            return moment + (end - since_midnight)
    return moment


def charge_not_before(rail: Rail, notified_at: datetime) -> datetime:
    """The earliest charge after a notification really sent at ``notified_at`` (a job that ran
    late moves the charge, never shortens the notice)."""
    return next_execution_time(rail, as_utc(notified_at) + notice_lead(rail))


def first_attempt(
    due_at: datetime, rail: Rail, amount_minor: int, settings: DunningSettings
) -> Attempt:
    """The renewal's own charge, due at ``due_at`` (the period's end): notified ahead so that it
    is made on time, moved out of the rail's closed hours."""
    charge_at = next_execution_time(rail, due_at)
    return _attempt(0, rail, charge_at, amount_minor, settings)


def retry_offsets(rail: Rail, settings: DunningSettings) -> tuple[timedelta, ...]:
    """The merchant's offsets the rail allows: all of them, or for UPI Autopay at most 3,
    spread over the same window (the last one kept) rather than crowded into its first days."""
    offsets = settings.retry_offsets
    if rail is not Rail.upi_autopay or len(offsets) <= UPI_AUTOPAY_RETRY_COUNT_MAX:
        return offsets
    count = UPI_AUTOPAY_RETRY_COUNT_MAX
    picks = [math.ceil((index + 1) * len(offsets) / count) - 1 for index in range(count)]
    return tuple(offsets[pick] for pick in picks)


def plan_attempts(
    first_failure_at: datetime,
    rail: Rail,
    amount_minor: int,
    settings: DunningSettings,
    *,
    attempts_made: int = 0,
    last_attempt_at: datetime | None = None,
) -> list[Attempt]:
    """The retries left after the renewal's charge failed at ``first_failure_at``.

    Retry ``k`` is charged no earlier than its offset after the first failure; on a notified
    rail its notification goes at least :data:`OUTCOME_WAIT_S` after the previous try and the
    charge at least 24 hours (and an hour for delivery) after its notification; UPI Autopay
    executes outside its peak windows. To re-plan after ``attempts_made`` retries (an answer
    that came late, a notification sent late), pass the last try's time as ``last_attempt_at``.
    """
    first_failure_at = as_utc(first_failure_at)
    if attempts_made and last_attempt_at is None:
        raise ValueError("re-planning after retries needs the last attempt's time")
    previous = first_failure_at if last_attempt_at is None else as_utc(last_attempt_at)
    wait = timedelta(seconds=OUTCOME_WAIT_S) + notice_lead(rail)
    attempts = []
    for number, offset in enumerate(retry_offsets(rail, settings), start=1):
        if number <= attempts_made:
            continue
        charge_at = next_execution_time(rail, max(first_failure_at + offset, previous + wait))
        attempts.append(_attempt(number, rail, charge_at, amount_minor, settings))
        previous = charge_at
    return attempts


def _attempt(
    number: int, rail: Rail, charge_at: datetime, amount_minor: int, settings: DunningSettings
) -> Attempt:
    lead = notice_lead(rail)
    return Attempt(
        number=number,
        rail=rail,
        notify_at=charge_at - lead if lead else None,
        charge_at=charge_at,
        needs_authentication=needs_authentication(rail, amount_minor, settings.mandate_category),
    )


def retry_count(rail: Rail, settings: DunningSettings) -> int:
    """How many retries follow a failed renewal charge: the last one's ``number``."""
    return len(retry_offsets(rail, settings))


@dataclass(frozen=True)
class FinalOutcome:
    """What follows the last failed try: the subscription becomes ``status`` at
    ``effective_at`` (staying ``past_due`` until then), and the invoice is treated by
    ``invoice``."""

    status: Status
    effective_at: datetime
    invoice: FinalInvoice

    def deferred(self, final_attempt_at: datetime) -> bool:
        return self.effective_at > as_utc(final_attempt_at)


def after_final_attempt(
    final_attempt_at: datetime, paid_through: datetime | None, settings: DunningSettings
) -> FinalOutcome:
    """The subscription's fate after its last try failed at ``final_attempt_at``.

    ``paid_through`` is the end of the last period whose invoice was paid. The merchant's final
    action takes effect at once if that period is over (the failed invoice was the renewal's:
    nothing paid is left), else at its end: a period the customer paid for is never cut short
    (the failed invoice was a mid-period one, an upgrade's proration for instance). Stripe acts
    at once in both cases; this is where we differ.
    """
    final_attempt_at = as_utc(final_attempt_at)
    status = next_status(
        Status.past_due,
        Event.retries_exhausted,
        Circumstances(final_action=settings.final_action),
    )
    effective_at = final_attempt_at
    if paid_through is not None and status is not Status.past_due:
        effective_at = max(final_attempt_at, as_utc(paid_through))
    return FinalOutcome(status=status, effective_at=effective_at, invoice=settings.final_invoice)
