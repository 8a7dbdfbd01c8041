"""The limit rules, pure: which cap a payment breaks, in the documented order, and the IST day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from beyondpay.psp.transfers.domain import (
    DaySoFar,
    Limits,
    PayeeKind,
    breach,
    collect_expires_at,
    day_of,
    in_cooling,
)

LIMITS = Limits()


def _code(
    amount: int,
    so_far: DaySoFar | None = None,
    *,
    cooling: bool = False,
    kind: PayeeKind = PayeeKind.payer,
) -> str | None:
    so_far = so_far or DaySoFar()
    found = breach(LIMITS, kind=kind, amount_minor=amount, so_far=so_far, cooling=cooling)
    return None if found is None else f"{found.npci_code}:{found.code}"


def test_a_payment_within_every_limit_passes() -> None:
    assert _code(50_000_00, DaySoFar(p2p_amount_minor=50_000_00, p2p_count=19)) is None


def test_the_daily_p2p_amount_is_z8() -> None:
    assert _code(30_000_00, DaySoFar(p2p_amount_minor=90_000_00)) == "Z8:daily_limit_exceeded"
    assert _code(10_000_00, DaySoFar(p2p_amount_minor=90_000_00)) is None  # exactly at the cap


def test_the_daily_count_is_z7_and_checked_before_the_amount() -> None:
    so_far = DaySoFar(p2p_amount_minor=99_000_00, p2p_count=20)
    assert _code(5_000_00, so_far) == "Z7:daily_count_limit_exceeded"


def test_one_payment_over_the_per_payment_cap_is_z8_first() -> None:
    assert _code(1_00_000_01, cooling=True) == "Z8:transaction_limit_exceeded"


def test_a_new_device_is_capped_on_everything_it_pays() -> None:
    so_far = DaySoFar(amount_minor=4_000_00)
    assert _code(1_000_00, so_far, cooling=True) is None
    assert _code(1_000_01, so_far, cooling=True) == "Z8:new_device_limit_exceeded"
    assert (
        _code(1_000_01, so_far, cooling=True, kind=PayeeKind.merchant)
        == "Z8:new_device_limit_exceeded"
    )


def test_merchant_payments_skip_the_p2p_caps() -> None:
    so_far = DaySoFar(p2p_amount_minor=1_00_000_00, p2p_count=20)
    assert _code(50_000_00, so_far, kind=PayeeKind.merchant) is None


def test_cooling_lasts_the_configured_period_and_an_unknown_binding_is_cooling() -> None:
    bound = datetime(2026, 11, 22, 10, tzinfo=UTC)
    assert in_cooling(bound, bound + timedelta(hours=23, minutes=59), LIMITS)
    assert not in_cooling(bound, bound + timedelta(hours=24), LIMITS)
    assert in_cooling(None, bound, LIMITS)
    assert not in_cooling(bound, bound, Limits(new_device_cooling_s=0))


def test_days_are_counted_in_ist() -> None:
    # 18:29 UTC is 23:59 IST; 18:30 UTC is the next IST day.
    assert day_of(datetime(2026, 11, 22, 18, 29, tzinfo=UTC)).day == 22
    assert day_of(datetime(2026, 11, 22, 18, 30, tzinfo=UTC)).day == 23


@pytest.mark.parametrize("seconds", [None, 60, 7 * 86400])
def test_collect_expiry_defaults_to_thirty_minutes(seconds: int | None) -> None:
    now = datetime(2026, 11, 22, tzinfo=UTC)
    expected = timedelta(seconds=seconds if seconds is not None else 1800)
    assert collect_expires_at(now, seconds) - now == expected
