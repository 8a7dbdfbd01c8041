"""A subscription's pure rules: its status machine, billing periods, trials and billing cycle
anchors, and prorations. No I/O, no database; times are timezone-aware and computed in UTC.

Stripe's objects and state machines are the interface (docs/billing.md gives the sources):

- **Statuses** are Stripe's: ``incomplete → active | incomplete_expired`` (the first invoice
  unpaid 23 hours after creation), ``trialing → active | past_due | canceled | paused``,
  ``active → past_due → active | unpaid | canceled``. :data:`TRANSITIONS` is the table, as data;
  :func:`next_status` applies it or raises :class:`IllegalTransitionError` saying why.
  ``cancel_at_period_end`` and ``pause_collection`` are flags, not statuses: setting them is an
  :class:`Event` the table allows or refuses, and the status stays.
- **Periods** follow the billing cycle anchor: boundary ``k`` is the anchor moved by ``k``
  intervals, always counted from the anchor itself, so an anchor on the 31st bills on the last
  day of shorter months and comes back to the 31st (31 Jan → 28 Feb → 31 Mar), and an anchor on
  29 February bills on 28 February in other years. Days of the month are UTC days.
- **A start** (:func:`plan_start`): an optional trial, then an optional stub up to an explicit
  ``billing_cycle_anchor`` (prorated, or free with ``proration_behavior=none``), then full
  periods from the anchor.
- **Prorations** (:func:`prorate_change`): to the second, each line rounded to the nearest paisa
  with halves away from zero; a credit for the unused time on what the customer had, a charge
  for the remaining time on what they have now.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from beyondpay.billing.subscriptions.errors import (
    BillingCycleAnchorInvalidError,
    IntervalInvalidError,
    PauseCollectionInvalidError,
    ProrationDateInvalidError,
    TrialInvalidError,
)

# Stripe's rule: a subscription whose first invoice is still unpaid 23 hours after creation
# expires (its invoice is voided; nothing more is billed).
INCOMPLETE_EXPIRY_S: Final = 23 * 3_600
# Stripe's longest trial: 730 days.
TRIAL_PERIOD_DAYS_MAX: Final = 730
# Stripe's longest billing interval is three years, whatever the unit.
INTERVAL_COUNT_MAX: Final[Mapping[str, int]] = MappingProxyType(
    {"day": 3 * 365, "week": 3 * 52, "month": 3 * 12, "year": 3}
)
# Dates in line descriptions are printed for people in India (UTC+05:30 all year: IST has no
# daylight saving); every computation stays in UTC.
DISPLAY_TIMEZONE: Final = timezone(timedelta(hours=5, minutes=30), "IST")
# Month names spelled out here rather than by strftime("%b"), which follows the process locale.
_MONTH_ABBREVIATIONS: Final = (
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
)  # fmt: skip
_SECOND: Final = timedelta(seconds=1)
# Stripe writes a quantity with the multiplication sign: "3 <sign> Pro".
_TIMES: Final = "\N{MULTIPLICATION SIGN}"


# --- Status machine ---------------------------------------------------------------------------


class Status(StrEnum):
    incomplete = "incomplete"
    incomplete_expired = "incomplete_expired"
    trialing = "trialing"
    active = "active"
    past_due = "past_due"
    unpaid = "unpaid"
    canceled = "canceled"
    paused = "paused"


class Event(StrEnum):
    """What can happen to a subscription: its invoices' outcomes, its clock, the merchant's
    calls. Moves whose target depends on a setting read it from :class:`Circumstances`."""

    invoice_paid = "invoice_paid"  # the latest invoice is paid
    payment_failed = "payment_failed"  # an attempt on the latest invoice was declined
    payment_requires_action = "payment_requires_action"  # it waits for the customer (AFA, 3DS)
    expired = "expired"  # 23 hours passed without a first payment (incomplete only)
    trial_ended = "trial_ended"
    period_ended = "period_ended"  # the current period is over: renew, or cancel if due
    retries_exhausted = "retries_exhausted"  # dunning's last try failed
    cancel = "cancel"  # cancel now
    schedule_cancel = "schedule_cancel"  # cancel_at_period_end=true, or cancel_at
    unschedule_cancel = "unschedule_cancel"
    update_items = "update_items"  # a price or quantity change
    pause_collection = "pause_collection"
    resume_collection = "resume_collection"
    resume = "resume"  # a paused subscription gets going again


class MissingPaymentMethod(StrEnum):
    """``trial_settings[end_behavior][missing_payment_method]``: what a trial that ends without a
    payment method leads to. Stripe's default is ``create_invoice``."""

    cancel = "cancel"
    create_invoice = "create_invoice"
    pause = "pause"


class FinalAction(StrEnum):
    """The merchant's setting for a subscription whose last retry failed (Stripe's "cancel the
    subscription", "mark the subscription as unpaid", "leave the subscription past-due")."""

    cancel = "cancel"
    mark_unpaid = "mark_unpaid"
    leave_past_due = "leave_past_due"


class Rule(StrEnum):
    """A move whose target is not one status but depends on the :class:`Circumstances`."""

    same = "same"  # the status does not change
    trial_end = "trial_end"  # canceled if due; active with a payment method; else by the setting
    period_end = "period_end"  # canceled if due; else the same status
    final_action = "final_action"  # the merchant's FinalAction


@dataclass(frozen=True)
class Circumstances:
    """What decides the moves of :class:`Rule`; the defaults are Stripe's."""

    has_payment_method: bool = True
    missing_payment_method: MissingPaymentMethod = MissingPaymentMethod.create_invoice
    # cancel_at_period_end is set, or cancel_at falls at this period's end.
    cancel_due: bool = False
    final_action: FinalAction = FinalAction.cancel


S = Status
_ANY_LIVE: Final = (S.trialing, S.active, S.past_due, S.unpaid)
_LIVE_FLAGS: Final[Mapping[Status, Status | Rule]] = MappingProxyType(
    dict.fromkeys(_ANY_LIVE, Rule.same)
)
_PAYMENT_NOT_MADE: Final[Mapping[Status, Status | Rule]] = MappingProxyType(
    {
        S.incomplete: S.incomplete,
        S.trialing: S.past_due,  # the invoice at the trial's end failed
        S.active: S.past_due,
        S.past_due: S.past_due,
        S.unpaid: S.unpaid,
    }
)
TRANSITIONS: Final[Mapping[Event, Mapping[Status, Status | Rule]]] = MappingProxyType(
    {
        Event.invoice_paid: MappingProxyType(
            {
                S.incomplete: S.active,
                S.trialing: S.trialing,  # the trial's zero invoice
                S.active: S.active,
                S.past_due: S.active,
                S.unpaid: S.active,
                # Cancellation stops automatic collection, but the customer may still pay an
                # open invoice on its hosted page; the subscription stays canceled.
                S.canceled: S.canceled,
            }
        ),
        Event.payment_failed: _PAYMENT_NOT_MADE,
        Event.payment_requires_action: _PAYMENT_NOT_MADE,
        Event.expired: MappingProxyType({S.incomplete: S.incomplete_expired}),
        Event.trial_ended: MappingProxyType({S.trialing: Rule.trial_end}),
        Event.period_ended: MappingProxyType(
            {S.active: Rule.period_end, S.past_due: Rule.period_end, S.unpaid: Rule.period_end}
        ),
        Event.retries_exhausted: MappingProxyType({S.past_due: Rule.final_action}),
        Event.cancel: MappingProxyType(
            {
                # A subscription canceled before its first payment ends as Stripe's would: as
                # incomplete_expired (its first invoice is voided; it never started).
                S.incomplete: S.incomplete_expired,
                **dict.fromkeys(_ANY_LIVE, S.canceled),
                S.paused: S.canceled,
            }
        ),
        Event.schedule_cancel: _LIVE_FLAGS,
        Event.unschedule_cancel: _LIVE_FLAGS,
        Event.update_items: _LIVE_FLAGS,
        Event.pause_collection: _LIVE_FLAGS,
        Event.resume_collection: _LIVE_FLAGS,
        Event.resume: MappingProxyType({S.paused: S.active}),
    }
)
TERMINAL: Final = frozenset({S.incomplete_expired, S.canceled})

# Why a status refuses nearly everything, said first when it refuses.
_STATUS_REASONS: Final[Mapping[Status, str]] = MappingProxyType(
    {
        S.incomplete_expired: (
            "an expired subscription is final (its first invoice was voided); create a new one"
        ),
        S.canceled: "a canceled subscription is final; create a new one",
        S.incomplete: (
            "an incomplete subscription waits for its first payment: only that payment, its"
            " failure, its expiry 23 hours after creation, or canceling it apply"
        ),
        S.paused: (
            "a paused subscription waits for a payment method: only resuming or canceling it apply"
        ),
    }
)
_EVENT_REASONS: Final[Mapping[Event, str]] = MappingProxyType(
    {
        Event.expired: "only an incomplete subscription expires",
        Event.trial_ended: "only a trialing subscription has a trial to end",
        Event.period_ended: (
            "only an active, past_due or unpaid subscription renews (a trial ends by trial_ended)"
        ),
        Event.retries_exhausted: "only a past_due subscription is being retried",
        Event.resume: "only a paused subscription resumes",
    }
)


class IllegalTransitionError(Exception):
    """``event`` does not apply to a subscription in ``status``; ``reason`` says why and
    ``allowed`` lists the statuses it applies to."""

    def __init__(self, status: Status, event: Event) -> None:
        self.status = status
        self.event = event
        self.allowed = sorted(TRANSITIONS[event])
        self.reason = _STATUS_REASONS.get(status) or _EVENT_REASONS.get(
            event, f"it applies only to a subscription that is {', '.join(self.allowed)}"
        )
        super().__init__(f"{event} does not apply to a {status} subscription: {self.reason}")


def next_status(
    status: Status, event: Event, circumstances: Circumstances = Circumstances()
) -> Status:
    """The status ``event`` leads to from ``status``; raises :class:`IllegalTransitionError`
    naming why if it does not apply there."""
    target = TRANSITIONS[event].get(status)
    if target is None:
        raise IllegalTransitionError(status, event)
    if isinstance(target, Status):
        return target
    return _resolve(target, status, circumstances)


def _resolve(rule: Rule, status: Status, circumstances: Circumstances) -> Status:
    match rule:
        case Rule.same:
            return status
        case Rule.period_end:
            return S.canceled if circumstances.cancel_due else status
        case Rule.trial_end:
            if circumstances.cancel_due:
                return S.canceled
            if circumstances.has_payment_method:
                return S.active
            return _WITHOUT_PAYMENT_METHOD[circumstances.missing_payment_method]
        case Rule.final_action:
            return _AFTER_FINAL_ACTION[circumstances.final_action]


# create_invoice: the subscription goes active and bills; the invoice, with nothing to charge,
# fails and the subscription becomes past_due through payment_failed.
_WITHOUT_PAYMENT_METHOD: Final[Mapping[MissingPaymentMethod, Status]] = MappingProxyType(
    {
        MissingPaymentMethod.cancel: S.canceled,
        MissingPaymentMethod.create_invoice: S.active,
        MissingPaymentMethod.pause: S.paused,
    }
)
_AFTER_FINAL_ACTION: Final[Mapping[FinalAction, Status]] = MappingProxyType(
    {
        FinalAction.cancel: S.canceled,
        FinalAction.mark_unpaid: S.unpaid,
        FinalAction.leave_past_due: S.past_due,
    }
)


def allowed_from(event: Event) -> frozenset[Status]:
    return frozenset(TRANSITIONS[event])


def incomplete_expires_at(created_at: datetime) -> datetime:
    """When an incomplete subscription expires if its first invoice is still unpaid."""
    return as_utc(created_at) + timedelta(seconds=INCOMPLETE_EXPIRY_S)


# --- Billing periods --------------------------------------------------------------------------


class Interval(StrEnum):
    day = "day"
    week = "week"
    month = "month"
    year = "year"


@dataclass(frozen=True, order=True)
class Period:
    """The half-open span ``[start, end)``, both in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if not self.start < self.end:
            raise ValueError(f"a period ends after it starts ({self.start} to {self.end})")

    @property
    def seconds(self) -> int:
        return (self.end - self.start) // _SECOND

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def check_interval(
    interval: Interval, interval_count: int, *, param: str = "recurring[interval_count]"
) -> None:
    """Raise a 400 naming ``param`` unless ``interval_count`` is 1 to Stripe's three years."""
    count_max = INTERVAL_COUNT_MAX[interval]
    if not 1 <= interval_count <= count_max:
        raise IntervalInvalidError(
            f"interval_count must be from 1 to {count_max} for a {interval} interval (at most"
            " three years).",
            param=param,
        )


def shift(anchor: datetime, interval: Interval, count: int) -> datetime:
    """``anchor`` moved by ``count`` intervals (backwards when negative), always counted from
    the anchor itself: months keep the anchor's day, or the month's last day when it has fewer
    (31 Jan + 1 month = 28 Feb, + 2 months = 31 Mar); the time of day is the anchor's."""
    anchor = as_utc(anchor)
    match interval:
        case Interval.day:
            return anchor + timedelta(days=count)
        case Interval.week:
            return anchor + timedelta(weeks=count)
        case Interval.month:
            return _add_months(anchor, count)
        case Interval.year:
            return _add_months(anchor, 12 * count)


def _add_months(anchor: datetime, months: int) -> datetime:
    year, month_index = divmod(anchor.year * 12 + anchor.month - 1 + months, 12)
    month = month_index + 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def next_period(
    anchor: datetime, interval: Interval, interval_count: int, period_index: int
) -> Period:
    """Period ``period_index`` of a subscription anchored at ``anchor``: period 0 starts at the
    anchor; -1 is the period that ends there (a stub before the anchor is part of it)."""
    check_interval(interval, interval_count)
    return Period(
        shift(anchor, interval, interval_count * period_index),
        shift(anchor, interval, interval_count * (period_index + 1)),
    )


def period_index_at(
    anchor: datetime, interval: Interval, interval_count: int, moment: datetime
) -> int:
    """The index of the period containing ``moment`` (negative before the anchor)."""
    check_interval(interval, interval_count)
    anchor, moment = as_utc(anchor), as_utc(moment)
    if interval in (Interval.day, Interval.week):
        step = timedelta(days=interval_count * (7 if interval is Interval.week else 1))
        return (moment - anchor) // step
    months = interval_count * (12 if interval is Interval.year else 1)
    index = ((moment.year - anchor.year) * 12 + moment.month - anchor.month) // months
    # The estimate counts calendar months; the day and time of day move it by at most one.
    while shift(anchor, Interval.month, months * index) > moment:
        index -= 1
    while shift(anchor, Interval.month, months * (index + 1)) <= moment:
        index += 1
    return index


def period_at(
    anchor: datetime, interval: Interval, interval_count: int, moment: datetime
) -> Period:
    """The billing period containing ``moment``."""
    index = period_index_at(anchor, interval, interval_count, moment)
    return next_period(anchor, interval, interval_count, index)


# --- Starting a subscription: trial, billing cycle anchor, stub -------------------------------


class ProrationBehavior(StrEnum):
    create_prorations = "create_prorations"  # proration items wait for the next invoice
    none = "none"  # no prorations (a stub before the anchor is free)
    always_invoice = "always_invoice"  # proration items are invoiced at once


@dataclass(frozen=True)
class Start:
    """How a subscription begins, from :func:`plan_start`.

    ``status`` is ``trialing`` with a trial, else ``incomplete`` until the first invoice is paid.
    ``trial`` is free. ``stub`` runs from the start of billing to the anchor; it is billed as its
    share of ``stub_basis`` (the full period ending at the anchor) unless ``stub_charged`` is
    false. Full periods start at ``billing_cycle_anchor``.
    """

    status: Status
    trial: Period | None
    stub: Period | None
    stub_basis: Period | None
    stub_charged: bool
    billing_cycle_anchor: datetime
    interval: Interval
    interval_count: int

    @property
    def current_period(self) -> Period:
        """The subscription's ``current_period_start`` and ``current_period_end`` at creation."""
        return self.trial or self.stub or self.period(0)

    def period(self, index: int) -> Period:
        """Full period ``index`` (0 starts at the anchor)."""
        return next_period(self.billing_cycle_anchor, self.interval, self.interval_count, index)

    def first_invoice_amount(self, amount_minor: int) -> int:
        """What the first invoice charges for an item of ``amount_minor`` a period: nothing for
        a trial (its invoice is zero), the stub's share, or a whole period."""
        if self.trial is not None:
            return 0
        return self.stub_invoice_amount(amount_minor) if self.stub else amount_minor

    def stub_invoice_amount(self, amount_minor: int) -> int:
        """The stub's charge (the invoice at the start of billing, after any trial)."""
        if self.stub is None or self.stub_basis is None or not self.stub_charged:
            return 0
        return prorated_amount(amount_minor, self.stub_basis, self.stub.start)


def trial_end_for(start: datetime, trial_period_days: int) -> datetime:
    """The end of a trial of ``trial_period_days`` whole days from ``start``."""
    if not 1 <= trial_period_days <= TRIAL_PERIOD_DAYS_MAX:
        raise TrialInvalidError(
            f"trial_period_days must be from 1 to {TRIAL_PERIOD_DAYS_MAX}.",
            param="trial_period_days",
        )
    return as_utc(start) + timedelta(days=trial_period_days)


def plan_start(
    created_at: datetime,
    interval: Interval,
    interval_count: int,
    *,
    trial_end: datetime | None = None,
    trial_period_days: int | None = None,
    billing_cycle_anchor: datetime | None = None,
    proration_behavior: ProrationBehavior = ProrationBehavior.create_prorations,
) -> Start:
    """A new subscription's trial, stub and anchor, as Stripe sets them: billing starts at the
    trial's end (or at creation); the anchor defaults to that moment and, if given, must lie
    between it and the next natural billing date; a stub up to the anchor is prorated, or free
    with ``proration_behavior=none``. ``trial_period_days=0`` means no trial."""
    created_at = as_utc(created_at)
    check_interval(interval, interval_count)
    trial = _trial(created_at, trial_end, trial_period_days)
    billing_starts = trial.end if trial else created_at
    anchor = billing_starts if billing_cycle_anchor is None else as_utc(billing_cycle_anchor)
    natural = shift(billing_starts, interval, interval_count)
    if not billing_starts <= anchor <= natural:
        raise BillingCycleAnchorInvalidError(param="billing_cycle_anchor")
    stub = Period(billing_starts, anchor) if anchor > billing_starts else None
    basis = Period(shift(anchor, interval, -interval_count), anchor) if stub else None
    return Start(
        status=S.trialing if trial else S.incomplete,
        trial=trial,
        stub=stub,
        stub_basis=basis,
        stub_charged=proration_behavior is not ProrationBehavior.none,
        billing_cycle_anchor=anchor,
        interval=interval,
        interval_count=interval_count,
    )


def _trial(
    created_at: datetime, trial_end: datetime | None, trial_period_days: int | None
) -> Period | None:
    if trial_end is not None and trial_period_days is not None:
        raise TrialInvalidError(
            "Pass trial_end or trial_period_days, not both.", param="trial_period_days"
        )
    if trial_period_days:
        return Period(created_at, trial_end_for(created_at, trial_period_days))
    if trial_end is None:
        return None
    trial_end = as_utc(trial_end)
    longest = created_at + timedelta(days=TRIAL_PERIOD_DAYS_MAX)
    if not created_at < trial_end <= longest:
        raise TrialInvalidError(
            f"trial_end must be in the future and at most {TRIAL_PERIOD_DAYS_MAX} days away.",
            param="trial_end",
        )
    return Period(created_at, trial_end)


# --- Prorations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemTerms:
    """What one subscription item charges a period: ``quantity`` times ``unit_amount_minor``."""

    name: str  # the product's name, as a line names it
    unit_amount_minor: int
    quantity: int = 1
    # Opaque to the rules and no part of an item's identity: what the caller bills the item
    # as (its price and tax rates), carried onto the item's proration lines.
    reference: object = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.unit_amount_minor < 0 or self.quantity < 0:
            raise ValueError("an item's unit amount and quantity are never negative")

    @property
    def amount_minor(self) -> int:
        return self.unit_amount_minor * self.quantity


class LineKind(StrEnum):
    unused_time = "unused_time"  # a credit
    remaining_time = "remaining_time"  # a charge


@dataclass(frozen=True)
class ProrationLine:
    """A proration invoice item: ``amount_minor`` is negative for a credit; ``period`` is the
    rest of the billing period the line is for."""

    kind: LineKind
    description: str
    amount_minor: int
    unit_amount_minor: int
    quantity: int
    period: Period
    reference: object = None  # the item's (ItemTerms.reference)


@dataclass(frozen=True)
class Proration:
    """The lines a change makes, and whether they are invoiced at once (``always_invoice``)
    or wait as pending invoice items for the next invoice (``create_prorations``)."""

    lines: tuple[ProrationLine, ...]
    invoice_now: bool

    @property
    def total_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)


NO_PRORATION: Final = Proration(lines=(), invoice_now=False)


def prorated_amount(amount_minor: int, period: Period, at: datetime) -> int:
    """``amount_minor`` times the share of ``period`` left after ``at``, in whole seconds as Stripe
    counts them, rounded to the nearest paisa with halves away from zero."""
    at = as_utc(at)
    if not period.start <= at <= period.end:
        raise ValueError(f"{at} is outside {period}")
    remaining_s = (period.end - at) // _SECOND
    return _round_half_away(amount_minor * remaining_s, period.seconds)


def _round_half_away(numerator: int, denominator: int) -> int:
    magnitude = (2 * abs(numerator) + denominator) // (2 * denominator)
    return magnitude if numerator >= 0 else -magnitude


def prorate_change(
    old: Sequence[ItemTerms],
    new: Sequence[ItemTerms],
    period: Period,
    at: datetime,
    behavior: ProrationBehavior = ProrationBehavior.create_prorations,
    *,
    trialing: bool = False,
    param: str = "proration_date",
) -> Proration:
    """The proration of changing a subscription's items from ``old`` to ``new`` at ``at``
    within its current ``period`` (same interval: a change of interval restarts the billing
    cycle instead; see :func:`credit_unused`). Items in both lists unchanged make no line.

    A trial is free, so a change during one prorates nothing; so does ``behavior=none``.
    """
    at = as_utc(at)
    if not period.contains(at):
        raise ProrationDateInvalidError(param=param)
    if trialing or behavior is ProrationBehavior.none:
        return NO_PRORATION
    # A multiset difference: an item in both lists, as often as it is in both, is unchanged.
    removed = Counter(old) - Counter(new)
    added = Counter(new) - Counter(old)
    credits = _lines(LineKind.unused_time, list(removed.elements()), period, at)
    charges = _lines(LineKind.remaining_time, list(added.elements()), period, at)
    lines = (*credits, *charges)
    if not lines:
        return NO_PRORATION
    return Proration(lines=lines, invoice_now=behavior is ProrationBehavior.always_invoice)


def credit_unused(
    items: Sequence[ItemTerms],
    period: Period,
    at: datetime,
    *,
    invoice_now: bool = False,
    param: str = "proration_date",
) -> Proration:
    """Credits for the unused rest of ``period`` after ``at``: what canceling now with
    ``prorate=true`` gives back (invoiced at once with ``invoice_now=true``), and the credit
    half of a change of interval (Stripe then restarts the cycle at ``at`` and bills the new
    price in full, at once)."""
    at = as_utc(at)
    if not period.contains(at):
        raise ProrationDateInvalidError(param=param)
    lines = tuple(_lines(LineKind.unused_time, items, period, at))
    return Proration(lines=lines, invoice_now=invoice_now)


def changes_billing_cycle(
    old_interval: Interval, old_count: int, new_interval: Interval, new_count: int
) -> bool:
    """Whether a price change moves the subscription to another billing interval, which
    Stripe answers by restarting the cycle at the change and invoicing at once."""
    return (old_interval, old_count) != (new_interval, new_count)


def _lines(
    kind: LineKind, items: Sequence[ItemTerms], period: Period, at: datetime
) -> list[ProrationLine]:
    sign = -1 if kind is LineKind.unused_time else 1
    lines = []
    for item in items:
        amount = prorated_amount(item.amount_minor, period, at)
        if amount == 0:
            continue  # a free item, or nothing left of the period: no line worth showing
        lines.append(
            ProrationLine(
                kind=kind,
                description=proration_description(kind, item, at),
                amount_minor=sign * amount,
                unit_amount_minor=item.unit_amount_minor,
                quantity=item.quantity,
                period=Period(at, period.end),
                reference=item.reference,
            )
        )
    return lines


def proration_description(kind: LineKind, item: ItemTerms, at: datetime) -> str:
    """Stripe's wording: ``Unused time on Pro after 7 Dec 2026``, ``Remaining time on 3 <times>
    Pro after 7 Dec 2026`` with the multiplication sign (the date as it is in India)."""
    what = item.name if item.quantity == 1 else f"{item.quantity} {_TIMES} {item.name}"
    verb = "Unused" if kind is LineKind.unused_time else "Remaining"
    return f"{verb} time on {what} after {display_date(at)}"


def display_date(moment: datetime) -> str:
    """``7 Dec 2026``: the day in :data:`DISPLAY_TIMEZONE`."""
    local = as_utc(moment).astimezone(DISPLAY_TIMEZONE)
    return f"{local.day} {_MONTH_ABBREVIATIONS[local.month - 1]} {local.year}"


# --- Pausing collection -----------------------------------------------------------------------


class PauseCollectionBehavior(StrEnum):
    """What happens to invoices made while collection is paused (Stripe's values)."""

    keep_as_draft = "keep_as_draft"  # drafts that do not advance: the merchant finalizes them
    mark_uncollectible = "mark_uncollectible"  # finalized, then marked uncollectible
    void = "void"  # finalized, then voided


@dataclass(frozen=True)
class PauseCollection:
    behavior: PauseCollectionBehavior
    resumes_at: datetime | None = None


def pause_collection(
    behavior: PauseCollectionBehavior, resumes_at: datetime | None, now: datetime
) -> PauseCollection:
    """A subscription's ``pause_collection``: the status stays, invoices are still made and
    treated by ``behavior``, until ``resumes_at`` (which must be in the future) if given."""
    if resumes_at is not None and as_utc(resumes_at) <= as_utc(now):
        raise PauseCollectionInvalidError(param="pause_collection[resumes_at]")
    return PauseCollection(behavior, None if resumes_at is None else as_utc(resumes_at))


def collection_paused(pause: PauseCollection | None, at: datetime) -> bool:
    """Whether invoices made at ``at`` are collected under ``pause``'s behavior."""
    if pause is None:
        return False
    return pause.resumes_at is None or as_utc(at) < pause.resumes_at


# --- Time -------------------------------------------------------------------------------------


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is a bug in the caller."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("billing times must be timezone-aware")
    return moment.astimezone(UTC)
