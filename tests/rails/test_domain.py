"""Pure rules: pacing, wire amounts, card numbers, VPAs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from beyondpay.rails.domain import (
    card_behaviour,
    card_brand,
    card_number_valid,
    mask_switch_vpa,
    minor_from_rupees,
    next_status_check,
    parse_latency_ms,
    rupees_from_minor,
    upi_pay_link,
)
from beyondpay.rails.protocol import Rail

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_upi_pacing_follows_npci_three_checks_in_two_hours() -> None:
    times = [next_status_check(Rail.upi, n, T0) for n in range(4)]
    assert times[:3] == [
        T0 + timedelta(seconds=90),
        T0 + timedelta(minutes=30),
        T0 + timedelta(hours=2),
    ]
    assert times[3] is None
    assert all(t is not None and t - T0 <= timedelta(hours=2) for t in times[:3])


def test_card_and_netbanking_pacing_end() -> None:
    assert next_status_check(Rail.card, 0, T0) == T0 + timedelta(seconds=10)
    assert next_status_check(Rail.card, 3, T0) is None
    assert next_status_check(Rail.netbanking, 0, T0) == T0 + timedelta(seconds=60)
    assert next_status_check(Rail.netbanking, 3, T0) is None
    with pytest.raises(ValueError):
        next_status_check(Rail.upi, -1, T0)


@pytest.mark.parametrize(("minor", "text"), [(1, "0.01"), (1000, "10.00"), (123456, "1234.56")])
def test_rupees_round_trip(minor: int, text: str) -> None:
    assert rupees_from_minor(minor) == text
    assert minor_from_rupees(text) == minor


@pytest.mark.parametrize("text", ["10", "10.0", "10.000", "-1.00", "1e3", "01.00", " 1.00"])
def test_rupees_refuse_loose_forms(text: str) -> None:
    with pytest.raises(ValueError):
        minor_from_rupees(text)


def test_cards() -> None:
    assert card_number_valid("4242424242424242") and not card_number_valid("4242424242424241")
    assert (
        card_brand("5555555555554444") == "mastercard" and card_brand("4242424242424242") == "visa"
    )
    now = datetime(2026, 6, 1, tzinfo=UTC)
    assert card_behaviour("4242424242424241", 12, 2030, now).failure_code == "incorrect_number"
    assert card_behaviour("4242424242424242", 5, 2026, now).failure_code == "expired_card"
    assert card_behaviour("4000056655665556", 12, 2030, now).scenario == "approve"
    customer_fail = card_behaviour("4000000000000341", 12, 2030, now)
    assert (customer_fail.scenario, customer_fail.decline_code) == ("decline", "generic_decline")


def test_latency_ranges() -> None:
    assert parse_latency_ms("0") == (0, 0)
    assert parse_latency_ms("50-200") == (50, 200)
    with pytest.raises(ValueError):
        parse_latency_ms("200-50")


def test_vpa_mask_and_intent_link() -> None:
    assert mask_switch_vpa("success@sandbox") == "s******@sandbox"
    link = upi_pay_link("payee.sandbox@beyondpay", "Shop Name", "upi_ref_1", 1050)
    assert (
        link == "upi://pay?pa=payee.sandbox@beyondpay&pn=Shop%20Name&tr=upi_ref_1&am=10.50&cu=INR"
    )
