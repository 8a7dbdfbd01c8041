"""The payout rail choice and the rails' references: pure rules, edges to the paisa."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beyondpay.rails import payout_domain as domain
from beyondpay.rails.errors import PayoutRailUnusableError, RailAmountInvalidError
from beyondpay.rails.payout_domain import (
    IMPS_AMOUNT_MINOR_MAX,
    IST,
    PAYOUT_AMOUNT_MINOR_MAX,
    RTGS_AMOUNT_MINOR_MIN,
    UPI_PAYOUT_AMOUNT_MINOR_MAX,
    choose_payout_rail,
    next_neft_batch,
)
from beyondpay.rails.protocol import PayoutRail

NOON_IST = datetime(2026, 12, 7, 12, 0, tzinfo=IST)
# A Sunday at 03:00 IST: a bank holiday at night, when RTGS used to be closed.
SUNDAY_NIGHT_IST = datetime(2026, 12, 6, 3, 0, tzinfo=IST)
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
amounts = st.integers(min_value=1, max_value=PAYOUT_AMOUNT_MINOR_MAX)


@pytest.mark.parametrize(
    ("amount_minor", "destination", "rail"),
    [
        (1, "bank_account", PayoutRail.imps),
        (IMPS_AMOUNT_MINOR_MAX, "bank_account", PayoutRail.imps),  # ₹5,00,000.00
        (IMPS_AMOUNT_MINOR_MAX + 1, "bank_account", PayoutRail.rtgs),  # ₹5,00,000.01
        (PAYOUT_AMOUNT_MINOR_MAX, "bank_account", PayoutRail.rtgs),
        (1, "vpa", PayoutRail.upi),
        (UPI_PAYOUT_AMOUNT_MINOR_MAX, "vpa", PayoutRail.upi),  # ₹1,00,000.00
    ],
)
def test_the_rail_chosen_by_amount_and_destination(
    amount_minor: int, destination: domain.Destination, rail: PayoutRail
) -> None:
    for at in (NOON_IST, SUNDAY_NIGHT_IST):
        assert choose_payout_rail(amount_minor, "inr", destination, at).rail is rail


@pytest.mark.parametrize(
    ("amount_minor", "destination", "preferred", "param", "reason"),
    [
        (RTGS_AMOUNT_MINOR_MIN - 1, "bank_account", PayoutRail.rtgs, "amount", "amount_too_small"),
        (IMPS_AMOUNT_MINOR_MAX + 1, "bank_account", PayoutRail.imps, "amount", "amount_too_large"),
        (UPI_PAYOUT_AMOUNT_MINOR_MAX + 1, "vpa", None, "amount", "amount_too_large"),
        (UPI_PAYOUT_AMOUNT_MINOR_MAX + 1, "vpa", PayoutRail.upi, "amount", "amount_too_large"),
        (100, "bank_account", PayoutRail.upi, "method", "destination_unsupported"),
        (100, "vpa", PayoutRail.neft, "method", "destination_unsupported"),
        (100, "vpa", PayoutRail.imps, "method", "destination_unsupported"),
        (RTGS_AMOUNT_MINOR_MIN, "vpa", PayoutRail.rtgs, "method", "destination_unsupported"),
    ],
)
def test_a_rail_that_cannot_carry_the_payout_is_refused_with_its_reason(
    amount_minor: int,
    destination: domain.Destination,
    preferred: PayoutRail | None,
    param: str,
    reason: str,
) -> None:
    with pytest.raises(PayoutRailUnusableError) as raised:
        choose_payout_rail(amount_minor, "inr", destination, NOON_IST, preferred)
    assert (raised.value.param, raised.value.reason, raised.value.status) == (param, reason, 400)


def test_a_refusal_says_the_rails_range_in_rupees() -> None:
    at = NOON_IST
    with pytest.raises(PayoutRailUnusableError) as too_large:
        choose_payout_rail(IMPS_AMOUNT_MINOR_MAX + 1, "inr", "bank_account", at, PayoutRail.imps)
    assert too_large.value.message == "IMPS carries at most ₹5,00,000.00 in one payout."
    with pytest.raises(PayoutRailUnusableError) as too_small:
        choose_payout_rail(RTGS_AMOUNT_MINOR_MIN - 1, "inr", "bank_account", at, PayoutRail.rtgs)
    assert too_small.value.message == "RTGS carries ₹2,00,000.00 and above."


@pytest.mark.parametrize(
    ("amount_minor", "preferred"),
    [
        (RTGS_AMOUNT_MINOR_MIN, PayoutRail.rtgs),  # ₹2,00,000.00: RTGS's least
        (PAYOUT_AMOUNT_MINOR_MAX, PayoutRail.rtgs),
        (1, PayoutRail.neft),  # NEFT has no minimum
        (PAYOUT_AMOUNT_MINOR_MAX, PayoutRail.neft),  # nor a maximum but ours
        (IMPS_AMOUNT_MINOR_MAX, PayoutRail.imps),
    ],
)
def test_a_preference_the_rail_can_carry_is_used_at_any_hour(
    amount_minor: int, preferred: PayoutRail
) -> None:
    for at in (NOON_IST, SUNDAY_NIGHT_IST):
        choice = choose_payout_rail(amount_minor, "inr", "bank_account", at, preferred)
        assert choice.rail is preferred


@pytest.mark.parametrize("amount_minor", [0, -1, PAYOUT_AMOUNT_MINOR_MAX + 1])
def test_amounts_outside_a_payout_are_refused(amount_minor: int) -> None:
    with pytest.raises(RailAmountInvalidError) as raised:
        choose_payout_rail(amount_minor, "inr", "bank_account", NOON_IST)
    assert raised.value.param == "amount"


def test_only_rupees_leave_by_indias_rails() -> None:
    with pytest.raises(PayoutRailUnusableError) as raised:
        choose_payout_rail(100, "usd", "bank_account", NOON_IST)
    assert raised.value.param == "currency"
    assert choose_payout_rail(100, "INR", "bank_account", NOON_IST).rail is PayoutRail.imps


@given(
    amount_minor=amounts,
    destination=st.sampled_from(["bank_account", "vpa"]),
    preferred=st.none() | st.sampled_from(list(PayoutRail)),
    at=moments,
)
def test_a_chosen_rail_always_carries_the_payout(
    amount_minor: int, destination: domain.Destination, preferred: PayoutRail | None, at: datetime
) -> None:
    """Against a model of the rules: the choice is accepted exactly when the rail can carry
    the amount to the destination, and the automatic choice is never the slower NEFT."""
    ranges = {
        PayoutRail.imps: (1, IMPS_AMOUNT_MINOR_MAX),
        PayoutRail.neft: (1, PAYOUT_AMOUNT_MINOR_MAX),
        PayoutRail.rtgs: (RTGS_AMOUNT_MINOR_MIN, PAYOUT_AMOUNT_MINOR_MAX),
        PayoutRail.upi: (1, UPI_PAYOUT_AMOUNT_MINOR_MAX),
    }
    if preferred is not None:
        expected: PayoutRail = preferred
    elif destination == "vpa":
        expected = PayoutRail.upi
    else:
        expected = PayoutRail.imps if amount_minor <= IMPS_AMOUNT_MINOR_MAX else PayoutRail.rtgs
    low, high = ranges[expected]
    reaches = (expected is PayoutRail.upi) == (destination == "vpa")
    if reaches and low <= amount_minor <= high:
        choice = choose_payout_rail(amount_minor, "inr", destination, at, preferred)
        assert choice.rail is expected
        assert choice.arrival_at >= at
        if expected is not PayoutRail.neft:
            assert choice.arrival_at == at  # instant at any hour: every rail is 24x7
    else:
        with pytest.raises(PayoutRailUnusableError):
            choose_payout_rail(amount_minor, "inr", destination, at, preferred)


# --- NEFT's half-hourly batches ----------------------------------------------------------


@pytest.mark.parametrize(
    ("accepted", "batch"),
    [
        (datetime(2026, 12, 7, 10, 0, tzinfo=IST), datetime(2026, 12, 7, 10, 30, tzinfo=IST)),
        (
            datetime(2026, 12, 7, 10, 29, 59, 999_999, tzinfo=IST),
            datetime(2026, 12, 7, 10, 30, tzinfo=IST),
        ),
        # Accepted at the very moment of a batch: the next one.
        (datetime(2026, 12, 7, 10, 30, tzinfo=IST), datetime(2026, 12, 7, 11, 0, tzinfo=IST)),
        (
            datetime(2026, 12, 7, 10, 30, 0, 1, tzinfo=IST),
            datetime(2026, 12, 7, 11, 0, tzinfo=IST),
        ),
        # The last batch of a day ends at 00:00; the first of the next settles at 00:30.
        (datetime(2026, 12, 7, 23, 45, tzinfo=IST), datetime(2026, 12, 8, 0, 0, tzinfo=IST)),
        (datetime(2026, 12, 8, 0, 0, tzinfo=IST), datetime(2026, 12, 8, 0, 30, tzinfo=IST)),
        # A Sunday night (a holiday for the old NEFT): batches run all the same.
        (SUNDAY_NIGHT_IST, datetime(2026, 12, 6, 3, 30, tzinfo=IST)),
        # Given in UTC: 04:40 UTC is 10:10 IST.
        (datetime(2026, 12, 7, 4, 40, tzinfo=UTC), datetime(2026, 12, 7, 10, 30, tzinfo=IST)),
    ],
)
def test_neft_joins_the_next_half_hourly_batch(accepted: datetime, batch: datetime) -> None:
    assert next_neft_batch(accepted) == batch
    assert next_neft_batch(accepted).tzinfo is UTC
    choice = choose_payout_rail(100, "inr", "bank_account", accepted, PayoutRail.neft)
    assert choice.arrival_at == batch


@given(at=moments)
def test_a_neft_batch_is_on_the_half_hour_within_30_minutes(at: datetime) -> None:
    batch = next_neft_batch(at)
    assert at < batch <= at + timedelta(minutes=30)
    local = batch.astimezone(IST)
    assert (local.minute, local.second, local.microsecond) in ((0, 0, 0), (30, 0, 0))


def test_a_day_has_48_batches() -> None:
    midnight = datetime(2026, 12, 7, 0, 0, tzinfo=IST)
    minutes = (midnight + timedelta(minutes=minute) for minute in range(24 * 60))
    batches = {next_neft_batch(moment) for moment in minutes}
    assert len(batches) == 48
    assert min(batches) == datetime(2026, 12, 7, 0, 30, tzinfo=IST)
    assert max(batches) == datetime(2026, 12, 8, 0, 0, tzinfo=IST)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_neft_batch(datetime(2026, 12, 7, 10, 0))


# --- references ---------------------------------------------------------------------------


def test_the_rails_references_have_their_formats() -> None:
    at = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # 17:30 IST, day 341 of 2026
    assert domain.rrn(at, "123456") == "634117123456"
    assert domain.neft_utr("SBXP", at, "000042") == "SBXPN26341000042"
    assert domain.rtgs_utr("SBXP", at, "00000042") == "SBXPR12026120700000042"
    assert len(domain.neft_utr("SBXP", at, "000042")) == domain.NEFT_UTR_CHARS
    assert len(domain.rtgs_utr("SBXP", at, "00000042")) == domain.RTGS_UTR_CHARS
    # The date is India's: 20:00 UTC on 7 December is 01:30 IST on the 8th (day 342).
    late = datetime(2026, 12, 7, 20, 0, tzinfo=UTC)
    assert domain.neft_utr("SBXP", late, "000001") == "SBXPN26342000001"
    assert domain.rtgs_utr("SBXP", late, "00000001")[6:14] == "20261208"
    with pytest.raises(ValueError, match="sequence"):
        domain.rrn(at, "12345")
    with pytest.raises(ValueError, match="sequence"):
        domain.neft_utr("SBXP", at, "12345a")
    with pytest.raises(ValueError, match="sequence"):
        domain.rtgs_utr("SBXP", at, "1234567")


@given(at=moments, sequence=st.from_regex(r"\A[0-9]{6}\Z"))
def test_an_rrn_is_12_digits(at: datetime, sequence: str) -> None:
    assert re.fullmatch(r"[0-9]{12}", domain.rrn(at, sequence))


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("12345678", False),
        ("123456789", True),
        ("123456789012345678", True),
        ("1234567890123456789", False),
        ("12345678901a", False),
        ("١٢٣٤٥٦٧٨٩٠", False),  # Arabic-Indic digits: isdigit() says yes, banks say no
        ("", False),
    ],
)
def test_account_numbers(number: str, valid: bool) -> None:
    assert domain.account_number_valid(number) is valid


def test_masks_show_the_last_four_digits() -> None:
    assert domain.mask_account("000123456789") == "XXXXXXXX6789"
    assert domain.mask_account("123456789") == "XXXXX6789"


def test_a_wrong_ifsc_is_found_before_the_account() -> None:
    assert domain.bank_account_scenario("000111111113", "SBIN0000404") == "invalid_account_number"
    assert domain.bank_account_scenario("000111111113", "SBIN0000403") == (
        "bank_account_restricted"
    )
    assert domain.bank_account_scenario("000111111113", "SBIN0001234") == "account_closed"
    assert domain.bank_account_scenario("000123456789", "SBIN0001234") == "paid"
    assert domain.vpa_scenario("payout.closed@sandbox") == "account_closed"
    assert domain.vpa_scenario("anyone@okaxis") == "paid"
    assert set(domain.SCENARIOS) == {"paid", "deemed", *domain.FAILURE_MESSAGES}
