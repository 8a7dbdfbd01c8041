"""A subscription's pure rules: every (status, event) pair of the status machine under every
setting, billing periods on awkward dates (31 January, 29 February, 1 April in IST), trials and
anchors as Stripe documents them, and prorations to the paisa."""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beyondpay.billing.subscriptions.domain import (
    INCOMPLETE_EXPIRY_S,
    NO_PRORATION,
    TERMINAL,
    TRANSITIONS,
    Circumstances,
    Event,
    FinalAction,
    IllegalTransitionError,
    Interval,
    ItemTerms,
    LineKind,
    MissingPaymentMethod,
    PauseCollectionBehavior,
    Period,
    ProrationBehavior,
    Status,
    allowed_from,
    collection_paused,
    credit_unused,
    incomplete_expires_at,
    next_period,
    next_status,
    pause_collection,
    period_at,
    period_index_at,
    plan_start,
    prorate_change,
    prorated_amount,
    shift,
)
from beyondpay.billing.subscriptions.errors import (
    BillingCycleAnchorInvalidError,
    IntervalInvalidError,
    PauseCollectionInvalidError,
    ProrationDateInvalidError,
    TrialInvalidError,
)

S = Status
E = Event
IST = timezone(timedelta(hours=5, minutes=30))
TIMES = "\N{MULTIPLICATION SIGN}"


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


# --- The status machine, walked for every pair and every setting ------------------------------

ALL_CIRCUMSTANCES = [
    Circumstances(
        has_payment_method=has_payment_method,
        missing_payment_method=missing,
        cancel_due=cancel_due,
        final_action=final_action,
    )
    for has_payment_method, missing, cancel_due, final_action in itertools.product(
        (True, False), MissingPaymentMethod, (True, False), FinalAction
    )
]


def _trial_end(c: Circumstances) -> Status:
    if c.cancel_due:
        return S.canceled
    if c.has_payment_method:
        return S.active
    return {
        MissingPaymentMethod.cancel: S.canceled,
        MissingPaymentMethod.pause: S.paused,
        MissingPaymentMethod.create_invoice: S.active,
    }[c.missing_payment_method]


def _renewal(status: Status) -> Callable[[Circumstances], Status]:
    return lambda c: S.canceled if c.cancel_due else status


def _final(c: Circumstances) -> Status:
    return {
        FinalAction.cancel: S.canceled,
        FinalAction.mark_unpaid: S.unpaid,
        FinalAction.leave_past_due: S.past_due,
    }[c.final_action]


Expected = Status | Callable[[Circumstances], Status]
LIVE = (S.trialing, S.active, S.past_due, S.unpaid)
EXPECTED: dict[tuple[Status, Event], Expected] = {
    (S.incomplete, E.invoice_paid): S.active,
    (S.trialing, E.invoice_paid): S.trialing,
    (S.active, E.invoice_paid): S.active,
    (S.past_due, E.invoice_paid): S.active,
    (S.unpaid, E.invoice_paid): S.active,
    (S.canceled, E.invoice_paid): S.canceled,
    **{
        (status, event): target
        for event in (E.payment_failed, E.payment_requires_action)
        for status, target in (
            (S.incomplete, S.incomplete),
            (S.trialing, S.past_due),
            (S.active, S.past_due),
            (S.past_due, S.past_due),
            (S.unpaid, S.unpaid),
        )
    },
    (S.incomplete, E.expired): S.incomplete_expired,
    (S.trialing, E.trial_ended): _trial_end,
    (S.active, E.period_ended): _renewal(S.active),
    (S.past_due, E.period_ended): _renewal(S.past_due),
    (S.unpaid, E.period_ended): _renewal(S.unpaid),
    (S.past_due, E.retries_exhausted): _final,
    (S.incomplete, E.cancel): S.incomplete_expired,
    **{(status, E.cancel): S.canceled for status in (*LIVE, S.paused)},
    **{
        (status, event): status
        for status in LIVE
        for event in (
            E.schedule_cancel,
            E.unschedule_cancel,
            E.update_items,
            E.pause_collection,
            E.resume_collection,
        )
    },
    (S.paused, E.resume): S.active,
}


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("event", list(Event))
def test_every_status_event_and_setting(status: Status, event: Event) -> None:
    expected = EXPECTED.get((status, event))
    for circumstances in ALL_CIRCUMSTANCES:
        if expected is None:
            with pytest.raises(IllegalTransitionError) as raised:
                next_status(status, event, circumstances)
            assert raised.value.allowed == sorted(allowed_from(event))
            assert status not in allowed_from(event)
            assert raised.value.reason in str(raised.value)
            assert str(event) in str(raised.value)
            assert str(status) in str(raised.value)
        else:
            want = expected if isinstance(expected, Status) else expected(circumstances)
            assert next_status(status, event, circumstances) is want


def test_the_table_names_every_event_and_only_real_statuses() -> None:
    assert set(TRANSITIONS) == set(Event)
    for moves in TRANSITIONS.values():
        assert set(moves) <= set(Status)


def test_final_statuses_take_nothing_but_a_late_payment() -> None:
    assert {S.canceled, S.incomplete_expired} == TERMINAL
    for status in TERMINAL:
        movable = {event for event in Event if status in allowed_from(event)}
        assert movable <= {E.invoice_paid}
        for event in movable:
            assert next_status(status, event) is status


@pytest.mark.parametrize(
    ("status", "event", "reason"),
    [
        (S.canceled, E.resume, "a canceled subscription is final"),
        (S.incomplete_expired, E.invoice_paid, "first invoice was voided"),
        (S.incomplete, E.update_items, "waits for its first payment"),
        (S.paused, E.schedule_cancel, "waits for a payment method"),
        (S.active, E.resume, "only a paused subscription resumes"),
        (S.active, E.trial_ended, "only a trialing subscription"),
        (S.active, E.retries_exhausted, "only a past_due subscription"),
        (S.trialing, E.period_ended, "a trial ends by trial_ended"),
        (S.past_due, E.expired, "only an incomplete subscription expires"),
    ],
)
def test_a_refusal_says_why(status: Status, event: Event, reason: str) -> None:
    with pytest.raises(IllegalTransitionError, match=reason):
        next_status(status, event)


def test_stripe_defaults_a_trial_without_payment_method_to_an_invoice() -> None:
    no_method = Circumstances(has_payment_method=False)
    assert next_status(S.trialing, E.trial_ended, no_method) is S.active
    # ... which cannot be paid, so the subscription is past_due after the attempt.
    assert next_status(S.active, E.payment_failed) is S.past_due


def test_incomplete_expires_23_hours_after_creation() -> None:
    created = utc(2026, 1, 1, 12)
    assert incomplete_expires_at(created) == utc(2026, 1, 2, 11)
    assert INCOMPLETE_EXPIRY_S == 23 * 3600


# --- Billing periods ----------------------------------------------------------------------------


def boundaries(anchor: datetime, interval: Interval, count: int, n: int) -> list[datetime]:
    return [next_period(anchor, interval, count, index).start for index in range(n)]


def test_stripe_examples_of_billing_dates() -> None:
    # https://docs.stripe.com/billing/subscriptions/billing-cycle
    assert [d.day for d in boundaries(utc(2026, 9, 2), Interval.month, 1, 14)] == [2] * 14
    jan31 = boundaries(utc(2026, 1, 31, 9, 15), Interval.month, 1, 5)
    assert [d.date().isoformat() for d in jan31] == [
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
        "2026-05-31",
    ]
    assert all(d.time().isoformat() == "09:15:00" for d in jan31)
    leap = boundaries(utc(2028, 1, 31), Interval.month, 1, 3)
    assert [d.day for d in leap] == [31, 29, 31]
    friday = utc(2022, 6, 3)
    assert friday.weekday() == calendar.FRIDAY
    fridays = boundaries(friday, Interval.week, 1, 10)
    assert all(d.weekday() == calendar.FRIDAY for d in fridays)


def test_29_february_bills_yearly_on_28_february_and_returns_to_the_29th() -> None:
    dates = boundaries(utc(2024, 2, 29), Interval.year, 1, 5)
    assert [d.date().isoformat() for d in dates] == [
        "2024-02-29",
        "2025-02-28",
        "2026-02-28",
        "2027-02-28",
        "2028-02-29",
    ]
    monthly = boundaries(utc(2024, 2, 29), Interval.month, 1, 3)
    assert [d.date().isoformat() for d in monthly] == ["2024-02-29", "2024-03-29", "2024-04-29"]


def test_midnight_ist_on_1_april_bills_at_midnight_ist_on_every_1st_across_the_year() -> None:
    # Created at 00:00 IST on 1 April (the first day of India's financial year) is 18:30 UTC on
    # 31 March: the anchor's UTC day is the 31st, which clamps to the month's last UTC day, so
    # every bill falls at 00:00 IST on the 1st, into the next financial year too.
    anchor = datetime(2026, 4, 1, tzinfo=IST).astimezone(UTC)
    assert anchor == utc(2026, 3, 31, 18, 30)
    local = [d.astimezone(IST) for d in boundaries(anchor, Interval.month, 1, 13)]
    assert [(d.day, d.hour, d.minute) for d in local] == [(1, 0, 0)] * 13
    assert local[-1].date().isoformat() == "2027-04-01"


def test_quarterly_from_30_november() -> None:
    dates = boundaries(utc(2025, 11, 30), Interval.month, 3, 5)
    assert [d.date().isoformat() for d in dates] == [
        "2025-11-30",
        "2026-02-28",
        "2026-05-30",
        "2026-08-30",
        "2026-11-30",
    ]


def test_period_minus_one_ends_at_the_anchor() -> None:
    anchor = utc(2026, 3, 31)
    assert next_period(anchor, Interval.month, 1, -1) == Period(utc(2026, 2, 28), anchor)
    assert period_index_at(anchor, Interval.month, 1, utc(2026, 3, 30)) == -1


@pytest.mark.parametrize(
    ("interval", "count_max"),
    [(Interval.day, 1095), (Interval.week, 156), (Interval.month, 36), (Interval.year, 3)],
)
def test_intervals_reach_three_years_at_most(interval: Interval, count_max: int) -> None:
    next_period(utc(2026, 1, 1), interval, count_max, 0)
    for count in (0, count_max + 1):
        with pytest.raises(IntervalInvalidError) as raised:
            next_period(utc(2026, 1, 1), interval, count, 0)
        assert raised.value.param == "recurring[interval_count]"


def test_naive_times_are_a_bug() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        shift(datetime(2026, 1, 1), Interval.day, 1)  # a naive time: the point of the test


anchors = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
intervals = st.sampled_from(Interval)


@st.composite
def cadences(draw: st.DrawFn) -> tuple[Interval, int]:
    interval = draw(intervals)
    caps = {Interval.day: 60, Interval.week: 10, Interval.month: 36, Interval.year: 3}
    return interval, draw(st.integers(1, caps[interval]))


@given(anchors, cadences(), st.integers(-12, 12))
def test_periods_are_contiguous_and_never_overlap(
    anchor: datetime, cadence: tuple[Interval, int], first: int
) -> None:
    interval, count = cadence
    periods = [next_period(anchor, interval, count, index) for index in range(first, first + 8)]
    for earlier, later in itertools.pairwise(periods):
        assert earlier.start < earlier.end == later.start < later.end
    assert next_period(anchor, interval, count, 0).start == anchor


@given(anchors, cadences(), st.integers(-12, 40))
def test_a_period_is_never_shorter_than_intended(
    anchor: datetime, cadence: tuple[Interval, int], index: int
) -> None:
    """Counted from the anchor, not from the previous period: no drift after a short month, and
    each month-based boundary keeps the anchor's day unless the month is shorter."""
    interval, count = cadence
    period = next_period(anchor, interval, count, index)
    days = (period.end - period.start) / timedelta(days=1)
    if interval is Interval.day:
        assert days == count
    elif interval is Interval.week:
        assert days == 7 * count
    else:
        months = count * (12 if interval is Interval.year else 1)
        assert 28 * months <= days <= 31 * months
        for boundary in (period.start, period.end):
            last_day = calendar.monthrange(boundary.year, boundary.month)[1]
            assert boundary.day == min(anchor.day, last_day)
            assert boundary.timetz() == anchor.timetz()


@given(
    anchors,
    cadences(),
    st.timedeltas(min_value=timedelta(days=-800), max_value=timedelta(days=4000)),
)
def test_the_period_at_a_moment_contains_it(
    anchor: datetime, cadence: tuple[Interval, int], offset: timedelta
) -> None:
    interval, count = cadence
    moment = anchor + offset
    period = period_at(anchor, interval, count, moment)
    assert period.contains(moment)
    index = period_index_at(anchor, interval, count, moment)
    assert period == next_period(anchor, interval, count, index)
    assert period_index_at(anchor, interval, count, period.start) == index


# --- Trials, anchors and the first invoice ------------------------------------------------------


def test_a_plain_subscription_starts_incomplete_and_bills_a_whole_period() -> None:
    start = plan_start(utc(2026, 1, 31, 10), Interval.month, 1)
    assert start.status is S.incomplete
    assert start.trial is None and start.stub is None
    assert start.billing_cycle_anchor == utc(2026, 1, 31, 10)
    assert start.current_period == Period(utc(2026, 1, 31, 10), utc(2026, 2, 28, 10))
    assert start.first_invoice_amount(49_900) == 49_900


def test_a_trial_is_free_and_anchors_billing_at_its_end() -> None:
    start = plan_start(utc(2026, 1, 1, 8), Interval.month, 1, trial_period_days=7)
    assert start.status is S.trialing
    assert start.trial == Period(utc(2026, 1, 1, 8), utc(2026, 1, 8, 8))
    assert start.current_period == start.trial
    assert start.billing_cycle_anchor == utc(2026, 1, 8, 8)
    assert start.period(0) == Period(utc(2026, 1, 8, 8), utc(2026, 2, 8, 8))
    assert start.first_invoice_amount(49_900) == 0
    explicit = plan_start(utc(2026, 1, 1, 8), Interval.month, 1, trial_end=utc(2026, 1, 8, 8))
    assert explicit == start


def test_stripe_example_of_a_trial_then_a_prorated_stub_to_the_1st() -> None:
    # "it's the 15th ... a free 7 day trial (until the 22nd), and then start normal billing on
    # the 1st" (https://docs.stripe.com/billing/subscriptions/trials).
    start = plan_start(
        utc(2026, 7, 15),
        Interval.month,
        1,
        trial_end=utc(2026, 7, 22),
        billing_cycle_anchor=utc(2026, 8, 1),
    )
    assert start.trial == Period(utc(2026, 7, 15), utc(2026, 7, 22))
    assert start.stub == Period(utc(2026, 7, 22), utc(2026, 8, 1))
    assert start.stub_basis == Period(utc(2026, 7, 1), utc(2026, 8, 1))
    # 10 of July's 31 days, of ₹310.00.
    assert start.stub_invoice_amount(31_000) == 10_000
    assert start.first_invoice_amount(31_000) == 0  # the trial's invoice


def test_an_anchor_gives_a_prorated_stub_unless_proration_behavior_is_none() -> None:
    created, anchor = utc(2026, 5, 15), utc(2026, 6, 1)
    prorated = plan_start(created, Interval.month, 1, billing_cycle_anchor=anchor)
    assert prorated.current_period == Period(created, anchor)
    assert prorated.first_invoice_amount(31_000) == 17_000  # 17 of May's 31 days
    free = plan_start(
        created,
        Interval.month,
        1,
        billing_cycle_anchor=anchor,
        proration_behavior=ProrationBehavior.none,
    )
    assert free.stub == prorated.stub and not free.stub_charged
    assert free.first_invoice_amount(31_000) == 0


@pytest.mark.parametrize(
    "anchor",
    [utc(2026, 5, 14, 23, 59, 59), utc(2026, 6, 15, 0, 0, 1)],
    ids=["before-the-start", "after-the-next-natural-date"],
)
def test_an_anchor_outside_the_first_natural_period_is_refused(anchor: datetime) -> None:
    with pytest.raises(BillingCycleAnchorInvalidError) as raised:
        plan_start(utc(2026, 5, 15), Interval.month, 1, billing_cycle_anchor=anchor)
    assert raised.value.param == "billing_cycle_anchor"


def test_an_anchor_at_either_end_of_the_first_period_is_accepted() -> None:
    at_start = plan_start(
        utc(2026, 5, 15), Interval.month, 1, billing_cycle_anchor=utc(2026, 5, 15)
    )
    assert at_start.stub is None
    at_end = plan_start(utc(2026, 5, 15), Interval.month, 1, billing_cycle_anchor=utc(2026, 6, 15))
    assert at_end.stub == Period(utc(2026, 5, 15), utc(2026, 6, 15))
    assert at_end.first_invoice_amount(31_000) == 31_000


@pytest.mark.parametrize(
    ("arguments", "param"),
    [
        ({"trial_period_days": 731}, "trial_period_days"),
        ({"trial_period_days": -1}, "trial_period_days"),
        ({"trial_end": utc(2026, 1, 1)}, "trial_end"),
        ({"trial_end": utc(2028, 1, 2)}, "trial_end"),
        ({"trial_end": utc(2026, 2, 1), "trial_period_days": 7}, "trial_period_days"),
    ],
)
def test_trials_stripe_refuses(arguments: dict[str, object], param: str) -> None:
    with pytest.raises(TrialInvalidError) as raised:
        plan_start(utc(2026, 1, 1), Interval.month, 1, **arguments)  # type: ignore[arg-type]
    assert raised.value.param == param


def test_trial_period_days_zero_is_no_trial_and_730_is_the_longest() -> None:
    assert plan_start(utc(2026, 1, 1), Interval.month, 1, trial_period_days=0).trial is None
    longest = plan_start(utc(2026, 1, 1), Interval.month, 1, trial_period_days=730)
    assert longest.trial is not None and longest.trial.end == utc(2028, 1, 1)


@given(
    anchors,
    cadences(),
    st.integers(0, 30),
    st.floats(0, 1),
    st.integers(0, 10_000_000),
)
def test_a_stub_is_a_share_of_one_period_and_leads_into_the_anchor(
    created: datetime, cadence: tuple[Interval, int], trial_days: int, share: float, amount: int
) -> None:
    interval, count = cadence
    billing_starts = created + timedelta(days=trial_days)
    natural = shift(billing_starts, interval, count)
    anchor = billing_starts + (natural - billing_starts) * share
    anchor = min(max(anchor, billing_starts), natural)
    start = plan_start(
        created, interval, count, trial_period_days=trial_days, billing_cycle_anchor=anchor
    )
    assert 0 <= start.stub_invoice_amount(amount) <= amount
    first = start.trial or start.stub or start.period(0)
    assert start.current_period == first
    if start.trial and start.stub:
        assert start.trial.end == start.stub.start
    if start.stub:
        assert start.stub.end == start.period(0).start == anchor
        assert start.stub_basis is not None and start.stub_basis.start <= start.stub.start


# --- Prorations ---------------------------------------------------------------------------------

DECEMBER = Period(utc(2026, 12, 1), utc(2027, 1, 1))


def test_stripe_example_of_an_upgrade_halfway() -> None:
    # https://docs.stripe.com/billing/subscriptions/prorations: from 10 to 20 a month halfway
    # through: a credit of 5, a charge of 10, 5 more in all.
    period = Period(utc(2026, 11, 1), utc(2026, 12, 1))
    proration = prorate_change(
        [ItemTerms("Basic", 1_000)], [ItemTerms("Pro", 2_000)], period, utc(2026, 11, 16)
    )
    assert [(line.kind, line.amount_minor) for line in proration.lines] == [
        (LineKind.unused_time, -500),
        (LineKind.remaining_time, 1_000),
    ]
    assert proration.total_minor == 500
    assert not proration.invoice_now
    assert all(
        line.period == Period(utc(2026, 11, 16), utc(2026, 12, 1)) for line in proration.lines
    )


def test_lines_say_what_and_when_in_india() -> None:
    # 20:00 UTC on 6 December is 01:30 on 7 December in India.
    at = utc(2026, 12, 6, 20)
    proration = prorate_change(
        [ItemTerms("Basic", 1_000, 2)], [ItemTerms("Pro", 2_000, 3)], DECEMBER, at
    )
    assert [line.description for line in proration.lines] == [
        f"Unused time on 2 {TIMES} Basic after 7 Dec 2026",
        f"Remaining time on 3 {TIMES} Pro after 7 Dec 2026",
    ]
    single = prorate_change([ItemTerms("Basic", 1_000)], [ItemTerms("Pro", 2_000)], DECEMBER, at)
    assert [line.description for line in single.lines] == [
        "Unused time on Basic after 7 Dec 2026",
        "Remaining time on Pro after 7 Dec 2026",
    ]


def test_a_quantity_change_credits_the_old_quantity_and_charges_the_new() -> None:
    proration = prorate_change(
        [ItemTerms("Seat", 10_000, 2)], [ItemTerms("Seat", 10_000, 5)], DECEMBER, utc(2026, 12, 1)
    )
    assert [(line.quantity, line.amount_minor) for line in proration.lines] == [
        (2, -20_000),
        (5, 50_000),
    ]


def test_unchanged_items_free_items_and_proration_behavior() -> None:
    keep, old, new = ItemTerms("Support", 5_000), ItemTerms("Basic", 1_000), ItemTerms("Pro", 2_000)
    at = utc(2026, 12, 10)
    changed = prorate_change([keep, old], [keep, new], DECEMBER, at)
    assert {line.description.split(" after")[0] for line in changed.lines} == {
        "Unused time on Basic",
        "Remaining time on Pro",
    }
    assert prorate_change([keep], [keep], DECEMBER, at) is NO_PRORATION
    assert prorate_change([], [ItemTerms("Free", 0)], DECEMBER, at) is NO_PRORATION
    assert prorate_change([old], [new], DECEMBER, at, ProrationBehavior.none) is NO_PRORATION
    assert prorate_change([old], [new], DECEMBER, at, trialing=True) is NO_PRORATION
    now = prorate_change([old], [new], DECEMBER, at, ProrationBehavior.always_invoice)
    assert now.invoice_now
    assert now.lines == prorate_change([old], [new], DECEMBER, at).lines


def test_the_same_item_twice_is_two_items() -> None:
    item = ItemTerms("Seat", 1_000)
    proration = prorate_change([item, item], [item], DECEMBER, utc(2026, 12, 1))
    assert [line.amount_minor for line in proration.lines] == [-1_000]


@pytest.mark.parametrize("at", [utc(2026, 11, 30, 23, 59, 59), utc(2027, 1, 1)])
def test_a_change_outside_the_period_is_refused(at: datetime) -> None:
    with pytest.raises(ProrationDateInvalidError) as raised:
        prorate_change([ItemTerms("Basic", 1_000)], [ItemTerms("Pro", 2_000)], DECEMBER, at)
    assert raised.value.param == "proration_date"


def test_canceling_now_with_prorate_credits_the_unused_rest() -> None:
    credit = credit_unused(
        [ItemTerms("Pro", 31_000), ItemTerms("Seat", 1_000, 3)],
        DECEMBER,
        utc(2026, 12, 22),
        invoice_now=True,
    )
    assert [line.amount_minor for line in credit.lines] == [-10_000, -968]  # 10 of 31 days
    assert credit.invoice_now
    assert credit.total_minor == -10_968


def test_rounding_is_to_the_nearest_paisa_with_halves_away_from_zero() -> None:
    period = Period(utc(2026, 1, 1), utc(2026, 1, 1, 0, 0, 2))
    middle = utc(2026, 1, 1, 0, 0, 1)
    assert prorated_amount(1, period, middle) == 1  # 0.5 → 1
    assert prorated_amount(3, period, middle) == 2  # 1.5 → 2
    assert prorated_amount(4, period, middle) == 2
    credit = credit_unused([ItemTerms("Tiny", 3)], period, middle)
    assert credit.total_minor == -2  # -1.5 → -2: a credit rounds like the charge it undoes
    third = Period(utc(2026, 1, 1), utc(2026, 1, 1, 0, 0, 3))
    assert prorated_amount(100, third, utc(2026, 1, 1, 0, 0, 1)) == 67  # 66.67 → 67
    assert prorated_amount(100, third, utc(2026, 1, 1, 0, 0, 2)) == 33  # 33.33 → 33


amounts = st.integers(0, 10_000_000_000)


@st.composite
def periods_and_moments(draw: st.DrawFn) -> tuple[Period, datetime]:
    anchor = draw(anchors)
    interval, count = draw(cadences())
    period = next_period(anchor, interval, count, draw(st.integers(0, 24)))
    seconds = draw(st.integers(0, period.seconds - 1))
    return period, period.start + timedelta(seconds=seconds)


@given(periods_and_moments(), amounts, amounts)
def test_prorations_sum_to_the_price_difference_over_a_full_period(
    period_and_moment: tuple[Period, datetime], old_amount: int, new_amount: int
) -> None:
    period, _ = period_and_moment
    old, new = ItemTerms("Old", old_amount), ItemTerms("New", new_amount)
    proration = prorate_change([old], [new], period, period.start)
    assert proration.total_minor == new_amount - old_amount


@given(periods_and_moments(), amounts, amounts)
def test_each_line_is_the_nearest_paisa_of_its_exact_share(
    period_and_moment: tuple[Period, datetime], old_amount: int, new_amount: int
) -> None:
    period, at = period_and_moment
    share = Fraction((period.end - at) // timedelta(seconds=1), period.seconds)
    proration = prorate_change(
        [ItemTerms("Old", old_amount)], [ItemTerms("New", new_amount)], period, at
    )
    for line in proration.lines:
        base = old_amount if line.kind is LineKind.unused_time else new_amount
        exact = base * share * (-1 if line.kind is LineKind.unused_time else 1)
        assert abs(line.amount_minor - exact) <= Fraction(1, 2)
        assert abs(line.amount_minor) <= base
        assert line.period == Period(at, period.end)
    # What the customer pays for the whole period stays within a paisa a line of the exact
    # blend of the two prices.
    paid = old_amount + proration.total_minor
    exact_paid = old_amount * (1 - share) + new_amount * share
    assert abs(paid - exact_paid) <= 1


@given(periods_and_moments(), amounts)
def test_a_change_to_the_same_amount_costs_nothing(
    period_and_moment: tuple[Period, datetime], amount: int
) -> None:
    period, at = period_and_moment
    proration = prorate_change([ItemTerms("A", amount)], [ItemTerms("B", amount)], period, at)
    assert proration.total_minor == 0


@given(periods_and_moments(), amounts, st.integers(0, 10**6))
def test_a_later_change_never_credits_more(
    period_and_moment: tuple[Period, datetime], amount: int, later_s: int
) -> None:
    period, at = period_and_moment
    later = min(at + timedelta(seconds=later_s), period.end)
    assert prorated_amount(amount, period, later) <= prorated_amount(amount, period, at)
    assert prorated_amount(amount, period, period.start) == amount
    assert prorated_amount(amount, period, period.end) == 0


# --- Pausing collection -------------------------------------------------------------------------


def test_pause_collection_until_a_future_time() -> None:
    now = utc(2026, 3, 1)
    pause = pause_collection(PauseCollectionBehavior.void, utc(2026, 4, 1), now)
    assert collection_paused(pause, utc(2026, 3, 31, 23, 59, 59))
    assert not collection_paused(pause, utc(2026, 4, 1))
    forever = pause_collection(PauseCollectionBehavior.keep_as_draft, None, now)
    assert collection_paused(forever, utc(2099, 1, 1))
    assert not collection_paused(None, now)
    with pytest.raises(PauseCollectionInvalidError) as raised:
        pause_collection(PauseCollectionBehavior.mark_uncollectible, now, now)
    assert raised.value.param == "pause_collection[resumes_at]"
