"""Each feature from a History built by hand: pure, no store."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from beyondpay.risk.features import FEATURE_NAMES, History, compute, haversine_km, mcc_risk
from tests.risk.support import MOMENT, context


def test_every_feature_is_computed_in_the_trained_order() -> None:
    features = compute(context(), History())
    assert tuple(features) == FEATURE_NAMES
    assert all(isinstance(value, float) for value in features.values())


def test_a_payer_never_seen() -> None:
    features = compute(context(amount_minor=999_00), History())
    assert features["amount_log"] == pytest.approx(math.log1p(999))
    assert features["amount_to_payer_mean"] == 1.0
    assert features["count_1h"] == features["count_24h"] == features["unique_payees_24h"] == 0.0
    assert features["sum_1h_log"] == features["sum_24h_log"] == 0.0
    assert features["new_payee"] == 1.0
    assert features["new_device"] == 1.0  # no device: unknown counts as new
    assert features["device_change"] == 0.0
    assert features["geo_distance_km"] == features["geo_speed_kmh"] == -1.0
    assert features["account_age_days"] == -1.0
    assert features["payee_new_payers_24h"] == 0.0


def test_velocity_and_amount_against_the_payer_mean() -> None:
    history = History(
        count_1h=2,
        sum_1h_minor=99_00,
        count_24h=5,
        sum_24h_minor=999_00,
        count_30d=10,
        sum_30d_minor=10_000_00,
        unique_payees_24h=3,
    )
    features = compute(context(amount_minor=8_000_00), history)
    assert features["amount_to_payer_mean"] == 8.0  # mean ₹1,000
    assert (features["count_1h"], features["count_24h"]) == (2.0, 5.0)
    assert features["sum_1h_log"] == pytest.approx(math.log1p(99))
    assert features["sum_24h_log"] == pytest.approx(math.log1p(999))
    assert features["unique_payees_24h"] == 3.0


def test_new_payee() -> None:
    assert compute(context(), History(paid_payee_before=True))["new_payee"] == 0.0


@pytest.mark.parametrize(
    ("bound_ago", "first_seen_ago", "expected"),
    [
        (timedelta(hours=23), None, 1.0),
        (timedelta(hours=25), None, 0.0),
        (None, timedelta(days=3), 0.0),  # bound time unknown: the store's first sighting
        (None, timedelta(hours=1), 1.0),
        (None, None, 1.0),
    ],
)
def test_new_device(
    bound_ago: timedelta | None, first_seen_ago: timedelta | None, expected: float
) -> None:
    ctx = context(device_id="dev_1", device_bound_at=MOMENT - bound_ago if bound_ago else None)
    history = History(device_first_seen_at=MOMENT - first_seen_ago if first_seen_ago else None)
    assert compute(ctx, history)["new_device"] == expected


def test_device_change() -> None:
    assert (
        compute(context(device_id="dev_2"), History(last_device_id="dev_1"))["device_change"] == 1.0
    )
    assert (
        compute(context(device_id="dev_1"), History(last_device_id="dev_1"))["device_change"] == 0.0
    )
    assert compute(context(device_id=None), History(last_device_id="dev_1"))["device_change"] == 0.0


def test_geo_distance_and_speed_since_the_last_payment() -> None:
    # Mumbai to Delhi (about 1,150 km) in 30 minutes.
    history = History(
        last_latitude=19.076, last_longitude=72.878, last_located_at=MOMENT - timedelta(minutes=30)
    )
    features = compute(context(latitude=28.614, longitude=77.209), history)
    assert features["geo_distance_km"] == pytest.approx(1150, rel=0.02)
    assert features["geo_speed_kmh"] == pytest.approx(2 * features["geo_distance_km"])
    assert compute(context(), history)["geo_distance_km"] == -1.0  # no place now: unknown


def test_speed_is_bounded_for_payments_seconds_apart() -> None:
    history = History(last_latitude=0.0, last_longitude=0.0, last_located_at=MOMENT)
    features = compute(context(latitude=0.0, longitude=90.0), history)
    assert features["geo_speed_kmh"] == 20_000.0


def test_haversine_quarter_of_the_equator() -> None:
    assert haversine_km(0, 0, 0, 90) == pytest.approx(10_007.5, rel=1e-3)


def test_mcc_risk_from_the_table() -> None:
    assert mcc_risk("7995") > mcc_risk("5999") > mcc_risk("5411")
    assert mcc_risk(None) == 0.3 and mcc_risk("0001") == 0.2
    assert compute(context(mcc="7995"), History())["mcc_risk"] == 0.9


def test_hour_and_weekday_in_ist() -> None:
    # 18:45 UTC on Sunday is 00:15 IST on Monday.
    features = compute(context(occurred_at=MOMENT.replace(day=1, hour=18, minute=45)), History())
    assert (features["hour_ist"], features["weekday_ist"]) == (0.0, 0.0)


def test_account_age() -> None:
    ctx = context(payer_created_at=MOMENT - timedelta(days=2, hours=12))
    assert compute(ctx, History())["account_age_days"] == 2.5


def test_payee_fan_in_and_rails() -> None:
    features = compute(context(rail="card"), History(payee_new_payers_24h=17))
    assert features["payee_new_payers_24h"] == 17.0
    assert (features["rail_card"], features["rail_upi"]) == (1.0, 0.0)
    netbanking = compute(context(rail="netbanking"), History())
    assert (netbanking["rail_card"], netbanking["rail_upi"]) == (0.0, 0.0)
