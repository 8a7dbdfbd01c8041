"""Dunning's schedule on India's rails: Stripe's 8 tries in 2 weeks bent by RBI's pre-debit
notice and authentication limit and by UPI Autopay's hours and retry cap, and what follows the
last try. Tables for the rules, properties for every schedule a merchant can set."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beyondpay.billing.subscriptions.domain import FinalAction, Status
from beyondpay.billing.subscriptions.dunning import (
    DEFAULT_RETRY_OFFSETS,
    PRE_DEBIT_NOTICE_S,
    RETRY_WINDOW_S_MAX,
    UPI_AUTOPAY_RETRY_COUNT_MAX,
    Attempt,
    DunningSettings,
    FinalInvoice,
    MandateCategory,
    Rail,
    after_final_attempt,
    authentication_limit_minor,
    charge_not_before,
    execution_allowed,
    first_attempt,
    needs_authentication,
    next_execution_time,
    notice_lead,
    plan_attempts,
    retry_count,
    retry_offsets,
)
from beyondpay.billing.subscriptions.errors import RetryScheduleInvalidError

IST = timezone(timedelta(hours=5, minutes=30))
DAY = timedelta(days=1)
HOUR = timedelta(hours=1)
NOTICE = timedelta(seconds=PRE_DEBIT_NOTICE_S)
DEFAULTS = DunningSettings()
RUPEES = 100  # paise in a rupee


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def ist(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=IST).astimezone(UTC)  # type: ignore[misc]


# --- The merchant's schedule --------------------------------------------------------------------


def test_the_default_is_stripes_eight_tries_within_two_weeks() -> None:
    # "The recommended default is 8 tries within 2 weeks." (docs.stripe.com, Smart Retries)
    assert len(DEFAULT_RETRY_OFFSETS) == 8
    assert DEFAULT_RETRY_OFFSETS[-1] == timedelta(weeks=2)
    assert DEFAULTS.final_action is FinalAction.cancel
    assert DEFAULTS.final_invoice is FinalInvoice.leave_open


@pytest.mark.parametrize(
    "offsets",
    [
        tuple(DAY * n for n in range(1, 10)),  # nine
        (DAY, DAY),
        (2 * DAY, DAY),
        (timedelta(0),),
        (-DAY,),
        (timedelta(seconds=RETRY_WINDOW_S_MAX + 1),),
    ],
    ids=["too-many", "repeated", "decreasing", "at-the-failure", "before-it", "too-late"],
)
def test_schedules_dunning_cannot_follow(offsets: tuple[timedelta, ...]) -> None:
    with pytest.raises(RetryScheduleInvalidError) as raised:
        DunningSettings(retry_offsets=offsets)
    assert raised.value.param == "retry_offsets"


def test_no_retries_at_all_is_a_schedule() -> None:
    settings = DunningSettings(retry_offsets=())
    assert plan_attempts(utc(2026, 1, 1), Rail.card_india, 1_000, settings) == []
    assert retry_count(Rail.card_india, settings) == 0


# --- RBI's limit for additional authentication --------------------------------------------------


@pytest.mark.parametrize(
    ("rail", "amount_minor", "category", "needed"),
    [
        (Rail.card_india, 15_000 * RUPEES, MandateCategory.standard, False),
        (Rail.card_india, 15_000 * RUPEES + 1, MandateCategory.standard, True),
        (Rail.upi_autopay, 15_000 * RUPEES, MandateCategory.standard, False),
        (Rail.upi_autopay, 15_000 * RUPEES + 1, MandateCategory.standard, True),
        (Rail.card_india, 1_00_000 * RUPEES, MandateCategory.insurance_premium, False),
        (Rail.card_india, 1_00_000 * RUPEES + 1, MandateCategory.insurance_premium, True),
        (Rail.card_india, 50_000 * RUPEES, MandateCategory.mutual_fund, False),
        (Rail.upi_autopay, 99_999 * RUPEES, MandateCategory.credit_card_bill, False),
        (Rail.card_foreign, 10_00_000 * RUPEES, MandateCategory.standard, False),
    ],
)
def test_a_charge_above_rbis_limit_needs_the_customer(
    rail: Rail, amount_minor: int, category: MandateCategory, needed: bool
) -> None:
    assert needs_authentication(rail, amount_minor, category) is needed


def test_a_charge_above_the_mandates_own_maximum_needs_the_customer() -> None:
    assert needs_authentication(
        Rail.card_india, 5_001 * RUPEES, mandate_amount_max_minor=5_000 * RUPEES
    )
    assert not needs_authentication(
        Rail.card_india, 5_000 * RUPEES, mandate_amount_max_minor=5_000 * RUPEES
    )
    assert authentication_limit_minor() == 15_000 * RUPEES


# --- UPI Autopay's hours ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "earliest"),
    [
        (ist(2026, 8, 1, 0, 0), ist(2026, 8, 1, 0, 0)),
        (ist(2026, 8, 1, 9, 59, 59), ist(2026, 8, 1, 9, 59, 59)),
        (ist(2026, 8, 1, 10, 0), ist(2026, 8, 1, 13, 0)),
        (ist(2026, 8, 1, 12, 59, 59), ist(2026, 8, 1, 13, 0)),
        (ist(2026, 8, 1, 13, 0), ist(2026, 8, 1, 13, 0)),
        (ist(2026, 8, 1, 16, 59, 59), ist(2026, 8, 1, 16, 59, 59)),
        (ist(2026, 8, 1, 17, 0), ist(2026, 8, 1, 21, 30)),
        (ist(2026, 8, 1, 21, 29, 59), ist(2026, 8, 1, 21, 30)),
        (ist(2026, 8, 1, 21, 30), ist(2026, 8, 1, 21, 30)),
        (ist(2026, 8, 1, 23, 59, 59), ist(2026, 8, 1, 23, 59, 59)),
    ],
)
def test_upi_autopay_executes_outside_the_peak_hours(moment: datetime, earliest: datetime) -> None:
    assert next_execution_time(Rail.upi_autopay, moment) == earliest
    assert execution_allowed(Rail.upi_autopay, moment) is (moment == earliest)
    assert next_execution_time(Rail.card_india, moment) == moment
    assert execution_allowed(Rail.card_foreign, moment)


def test_the_peak_hours_in_utc() -> None:
    # 10:00-13:00 IST is 04:30-07:30 UTC; 17:00-21:30 IST is 11:30-16:00 UTC.
    assert next_execution_time(Rail.upi_autopay, utc(2026, 8, 1, 4, 30)) == utc(2026, 8, 1, 7, 30)
    assert next_execution_time(Rail.upi_autopay, utc(2026, 8, 1, 11, 30)) == utc(2026, 8, 1, 16)


# --- The renewal's own charge -------------------------------------------------------------------


def test_a_card_renewal_is_notified_25_hours_ahead_so_it_is_charged_on_time() -> None:
    attempt = first_attempt(utc(2026, 12, 1), Rail.card_india, 499 * RUPEES, DEFAULTS)
    assert attempt == Attempt(
        number=0,
        rail=Rail.card_india,
        notify_at=utc(2026, 11, 29, 23),
        charge_at=utc(2026, 12, 1),
        needs_authentication=False,
    )
    assert attempt.off_session


def test_a_upi_renewal_due_in_peak_hours_waits_for_them_to_end() -> None:
    attempt = first_attempt(ist(2026, 12, 1, 10, 15), Rail.upi_autopay, 499 * RUPEES, DEFAULTS)
    assert attempt.charge_at == ist(2026, 12, 1, 13, 0)
    assert attempt.notify_at == ist(2026, 11, 30, 12, 0)


def test_a_foreign_card_renewal_needs_no_notice() -> None:
    attempt = first_attempt(utc(2026, 12, 1), Rail.card_foreign, 20_000 * RUPEES, DEFAULTS)
    assert attempt.notify_at is None and attempt.charge_at == utc(2026, 12, 1)
    assert attempt.off_session


def test_a_renewal_above_the_limit_is_never_charged_off_session() -> None:
    attempt = first_attempt(utc(2026, 12, 1), Rail.card_india, 20_000 * RUPEES, DEFAULTS)
    assert attempt.needs_authentication and not attempt.off_session
    assert attempt.notify_at == utc(2026, 11, 29, 23)  # the hosted link goes with the notice


# --- Retries ------------------------------------------------------------------------------------


def test_the_default_schedule_for_a_card_issued_in_india() -> None:
    failed = utc(2026, 12, 1, 5)
    plan = plan_attempts(failed, Rail.card_india, 499 * RUPEES, DEFAULTS)
    # Each notice waits an hour for the last try's answer and each charge comes 25 hours after
    # its notice: the first three retries come a few hours after their day, the rest on it.
    assert [(a.number, a.notify_at, a.charge_at) for a in plan] == [
        (1, utc(2026, 12, 1, 6), utc(2026, 12, 2, 7)),
        (2, utc(2026, 12, 2, 8), utc(2026, 12, 3, 9)),
        (3, utc(2026, 12, 3, 10), utc(2026, 12, 4, 11)),
        (4, utc(2026, 12, 5, 4), utc(2026, 12, 6, 5)),
        (5, utc(2026, 12, 7, 4), utc(2026, 12, 8, 5)),
        (6, utc(2026, 12, 9, 4), utc(2026, 12, 10, 5)),
        (7, utc(2026, 12, 11, 4), utc(2026, 12, 12, 5)),
        (8, utc(2026, 12, 14, 4), utc(2026, 12, 15, 5)),
    ]
    assert all(a.off_session for a in plan)


def test_upi_autopay_retries_three_times_spread_over_the_window() -> None:
    assert retry_offsets(Rail.upi_autopay, DEFAULTS) == (3 * DAY, 9 * DAY, 14 * DAY)
    assert retry_count(Rail.upi_autopay, DEFAULTS) == UPI_AUTOPAY_RETRY_COUNT_MAX
    failed = ist(2026, 12, 1, 10, 30)
    plan = plan_attempts(failed, Rail.upi_autopay, 499 * RUPEES, DEFAULTS)
    # 10:30 IST falls in the morning peak: each charge moves to 13:00 IST, its notice with it.
    assert [(a.notify_at, a.charge_at) for a in plan] == [
        (ist(2026, 12, 3, 12, 0), ist(2026, 12, 4, 13, 0)),
        (ist(2026, 12, 9, 12, 0), ist(2026, 12, 10, 13, 0)),
        (ist(2026, 12, 14, 12, 0), ist(2026, 12, 15, 13, 0)),
    ]
    short = DunningSettings(retry_offsets=(DAY, 2 * DAY))
    assert retry_offsets(Rail.upi_autopay, short) == (DAY, 2 * DAY)


def test_a_foreign_card_is_retried_at_the_offsets() -> None:
    failed = utc(2026, 12, 1, 5)
    plan = plan_attempts(failed, Rail.card_foreign, 499 * RUPEES, DEFAULTS)
    assert [a.charge_at - failed for a in plan] == list(DEFAULT_RETRY_OFFSETS)
    assert all(a.notify_at is None for a in plan)


def test_retries_above_the_limit_ask_the_customer_every_time() -> None:
    plan = plan_attempts(utc(2026, 12, 1), Rail.card_india, 15_000 * RUPEES + 1, DEFAULTS)
    assert len(plan) == 8
    assert all(a.needs_authentication and not a.off_session for a in plan)


def test_replanning_after_a_late_answer_keeps_every_notice() -> None:
    failed = utc(2026, 12, 1, 5)
    # Retry 2 (planned for 09:00 on 3 December) answered only at 18:00.
    replanned = plan_attempts(
        failed, Rail.card_india, 499 * RUPEES, DEFAULTS,
        attempts_made=2, last_attempt_at=utc(2026, 12, 3, 18),
    )  # fmt: skip
    assert [a.number for a in replanned] == [3, 4, 5, 6, 7, 8]
    assert replanned[0].notify_at == utc(2026, 12, 3, 19)
    assert replanned[0].charge_at == utc(2026, 12, 4, 20)
    with pytest.raises(ValueError, match="last attempt"):
        plan_attempts(failed, Rail.card_india, 499 * RUPEES, DEFAULTS, attempts_made=1)


def test_a_notice_sent_late_moves_its_charge() -> None:
    assert charge_not_before(Rail.card_india, utc(2026, 12, 1, 6, 40)) == utc(2026, 12, 2, 7, 40)
    # 25 hours after 12:00 IST is 13:00 IST the next day: outside the peak hours.
    assert charge_not_before(Rail.upi_autopay, ist(2026, 12, 1, 12)) == ist(2026, 12, 2, 13)
    # 25 hours after 09:00 IST is 10:00 IST: in the morning peak, so 13:00.
    assert charge_not_before(Rail.upi_autopay, ist(2026, 12, 1, 9)) == ist(2026, 12, 2, 13)
    assert charge_not_before(Rail.card_foreign, utc(2026, 12, 1)) == utc(2026, 12, 1)


offsets_strategy = st.lists(
    st.integers(1, RETRY_WINDOW_S_MAX), min_size=0, max_size=8, unique=True
).map(lambda seconds: tuple(timedelta(seconds=s) for s in sorted(seconds)))
moments = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)


@given(
    moments,
    st.sampled_from(Rail),
    st.integers(0, 2_00_000 * RUPEES),
    offsets_strategy,
    st.sampled_from(MandateCategory),
)
def test_every_schedule_keeps_the_rails_rules(
    failed: datetime,
    rail: Rail,
    amount_minor: int,
    offsets: tuple[timedelta, ...],
    category: MandateCategory,
) -> None:
    settings = DunningSettings(retry_offsets=offsets, mandate_category=category)
    plan = plan_attempts(failed, rail, amount_minor, settings)
    allowed = retry_offsets(rail, settings)
    assert len(plan) == len(allowed) <= len(offsets)
    if rail is Rail.upi_autopay:
        assert len(plan) <= UPI_AUTOPAY_RETRY_COUNT_MAX
        assert set(allowed) <= set(offsets)
        if offsets:
            assert allowed[-1] == offsets[-1]  # the window is kept
    assert [a.number for a in plan] == list(range(1, len(plan) + 1))
    previous = failed
    for attempt, offset in zip(plan, allowed, strict=True):
        assert attempt.charge_at >= failed + offset  # never earlier than the merchant said
        assert attempt.charge_at > previous
        assert execution_allowed(rail, attempt.charge_at)
        assert attempt.needs_authentication is needs_authentication(rail, amount_minor, category)
        if rail is Rail.card_foreign:
            assert attempt.notify_at is None
        else:
            assert attempt.notify_at is not None
            assert attempt.charge_at >= attempt.notify_at + NOTICE
            assert attempt.notify_at >= previous + HOUR  # the last try's answer came first
        previous = attempt.charge_at


@given(moments, st.sampled_from(Rail))
def test_the_earliest_execution_time_is_allowed_and_near(moment: datetime, rail: Rail) -> None:
    earliest = next_execution_time(rail, moment)
    assert moment <= earliest <= moment + timedelta(hours=4, minutes=30)
    assert execution_allowed(rail, earliest)
    assert next_execution_time(rail, earliest) == earliest
    notified = charge_not_before(rail, moment)
    assert notified >= moment + notice_lead(rail)
    if rail is not Rail.card_foreign:
        assert notified >= moment + NOTICE + HOUR


# --- After the last try -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("final_action", "status"),
    [
        (FinalAction.cancel, Status.canceled),
        (FinalAction.mark_unpaid, Status.unpaid),
        (FinalAction.leave_past_due, Status.past_due),
    ],
)
def test_after_a_failed_renewal_the_merchants_action_is_immediate(
    final_action: FinalAction, status: Status
) -> None:
    # The failed invoice was the renewal of the period that started on 1 December: the last
    # period paid for ended then.
    settings = DunningSettings(final_action=final_action)
    outcome = after_final_attempt(utc(2026, 12, 15, 5), utc(2026, 12, 1), settings)
    assert outcome.status is status
    assert outcome.effective_at == utc(2026, 12, 15, 5)
    assert not outcome.deferred(utc(2026, 12, 15, 5))
    assert outcome.invoice is FinalInvoice.leave_open


def test_a_paid_period_is_never_cut_short() -> None:
    # A yearly plan paid through 1 April 2027; an upgrade's proration invoice failed in December.
    settings = DunningSettings(
        final_action=FinalAction.cancel, final_invoice=FinalInvoice.mark_uncollectible
    )
    outcome = after_final_attempt(utc(2026, 12, 15, 5), utc(2027, 4, 1), settings)
    assert outcome.status is Status.canceled
    assert outcome.effective_at == utc(2027, 4, 1)
    assert outcome.deferred(utc(2026, 12, 15, 5))
    assert outcome.invoice is FinalInvoice.mark_uncollectible
    unpaid = after_final_attempt(
        utc(2026, 12, 15, 5), utc(2027, 4, 1), DunningSettings(final_action=FinalAction.mark_unpaid)
    )
    assert unpaid.effective_at == utc(2027, 4, 1)
    # Leaving it past_due changes nothing, so nothing waits.
    stays = after_final_attempt(
        utc(2026, 12, 15, 5),
        utc(2027, 4, 1),
        DunningSettings(final_action=FinalAction.leave_past_due),
    )
    assert stays.effective_at == utc(2026, 12, 15, 5)


def test_a_subscription_never_paid_is_acted_on_at_once() -> None:
    outcome = after_final_attempt(utc(2026, 12, 15), None, DEFAULTS)
    assert outcome.status is Status.canceled and outcome.effective_at == utc(2026, 12, 15)


@given(moments, st.one_of(st.none(), moments), st.sampled_from(FinalAction))
def test_the_final_action_never_comes_before_the_last_try_or_the_paid_periods_end(
    final_at: datetime, paid_through: datetime | None, final_action: FinalAction
) -> None:
    outcome = after_final_attempt(
        final_at, paid_through, DunningSettings(final_action=final_action)
    )
    assert outcome.effective_at >= final_at
    if paid_through is not None and final_action is not FinalAction.leave_past_due:
        assert outcome.effective_at >= paid_through
