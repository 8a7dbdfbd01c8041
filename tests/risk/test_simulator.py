"""The simulator: deterministic per seed, every fraud pattern present and recognisable."""

from __future__ import annotations

import numpy as np
import pytest

from beyondpay.risk.features import FEATURE_NAMES
from beyondpay.risk.simulator import FraudPattern, payments, simulate

ROWS = 3000


@pytest.fixture(scope="module")
def dataset():
    return simulate(11, ROWS)


def _column(dataset, pattern: str, name: str) -> np.ndarray:
    rows = np.asarray([each == pattern for each in dataset.patterns])
    return dataset.features[rows, FEATURE_NAMES.index(name)]


def test_the_same_seed_gives_the_same_rows_and_another_seed_others(dataset) -> None:
    again = simulate(11, ROWS)
    other = simulate(12, ROWS)
    assert np.array_equal(dataset.features, again.features)
    assert np.array_equal(dataset.labels, again.labels)
    assert dataset.patterns == again.patterns
    assert not np.array_equal(dataset.features, other.features)


def test_the_size_is_exact_and_the_columns_are_the_features(dataset) -> None:
    assert dataset.features.shape == (ROWS, len(FEATURE_NAMES))
    assert np.isfinite(dataset.features).all()
    assert 0.01 < dataset.fraud_share < 0.06
    assert set(dataset.labels.tolist()) == {0, 1}
    assert all(
        (label == 1) == bool(pattern)
        for label, pattern in zip(dataset.labels, dataset.patterns, strict=True)
    )


def test_payments_come_in_time_order() -> None:
    times = [payment.context.occurred_at for payment in payments(3, 1000)]
    assert times == sorted(times)


def test_every_fraud_pattern_is_present_with_its_signature(dataset) -> None:
    assert {pattern.value for pattern in FraudPattern} <= set(dataset.patterns)
    # Account takeover: a phone bound minutes ago, not the payer's last one, far from home.
    assert _column(dataset, FraudPattern.account_takeover, "new_device").min() == 1.0
    assert _column(dataset, FraudPattern.account_takeover, "geo_distance_km").max() > 200
    # Mule fan-in: the payee gathers many payers new to it within a day.
    assert _column(dataset, FraudPattern.mule_fan_in, "payee_new_payers_24h").max() >= 10
    assert _column(dataset, FraudPattern.mule_fan_in, "new_payee").min() == 1.0
    # Card testing: bursts of small card payments.
    assert _column(dataset, FraudPattern.card_testing, "rail_card").min() == 1.0
    assert _column(dataset, FraudPattern.card_testing, "count_1h").max() >= 5
    assert np.expm1(_column(dataset, FraudPattern.card_testing, "amount_log")).max() <= 150
    # Amount spike: many times the payer's usual amount.
    assert np.median(_column(dataset, FraudPattern.amount_spike, "amount_to_payer_mean")) > 5


def test_legitimate_payments_overlap_the_patterns(dataset) -> None:
    """New phones, trips and big purchases happen to honest payers too: not a trivial task."""
    assert _column(dataset, "", "new_device").max() == 1.0
    assert _column(dataset, "", "amount_to_payer_mean").max() > 5
    assert _column(dataset, "", "new_payee").mean() > 0.05
