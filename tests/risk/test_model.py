"""The shipped fraud model: beats a rules-only baseline on a held-out seed, answers fast, and
refuses a file made for other features."""

from __future__ import annotations

import json
import pickle
import statistics
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from beyondpay.cli import cli
from beyondpay.kit.settings import get_settings
from beyondpay.risk.features import FEATURE_NAMES
from beyondpay.risk.model import (
    CONTRIBUTIONS_COUNT,
    DEFAULT_MODEL_PATH,
    ModelFileError,
    default_model,
    load_model,
    read_model_file,
)
from beyondpay.risk.simulator import simulate
from beyondpay.risk.training import evaluate, save, train

# The shipped model is trained on seed 1 (and measured on seed 2 in docs/risk.md); seed 3 is
# new to both, and small so the test stays quick.
HOLDOUT_SEED = 3
HOLDOUT_ROWS = 8000
AUC_FLOOR = 0.95
MODEL_FILE_BYTES_MAX = 2 * 1024 * 1024
PREDICT_MS_MAX = 1.0


@pytest.fixture(scope="module")
def holdout():
    return simulate(HOLDOUT_SEED, HOLDOUT_ROWS)


def test_the_shipped_model_beats_the_rules_only_baseline_on_a_held_out_seed(holdout) -> None:
    metrics = evaluate(default_model(), holdout)
    print(f"model ROC AUC {metrics.roc_auc}, rules-only baseline {metrics.baseline_roc_auc}")
    assert metrics.fraud_rows > 100
    assert metrics.roc_auc >= AUC_FLOOR
    assert metrics.roc_auc > metrics.baseline_roc_auc
    assert metrics.challenge_recall > metrics.baseline_recall
    assert metrics.challenge_precision > metrics.baseline_precision
    assert metrics.block_precision >= metrics.challenge_precision - 0.05


def test_the_shipped_file_is_small_and_its_metrics_are_beside_it() -> None:
    assert DEFAULT_MODEL_PATH.stat().st_size < MODEL_FILE_BYTES_MAX
    recorded = json.loads(DEFAULT_MODEL_PATH.with_suffix(".json").read_text())
    model = default_model()
    assert recorded["version"] == model.version
    assert recorded["feature_names"] == list(FEATURE_NAMES)
    assert recorded["training_seed"] != recorded["holdout_seed"]
    assert recorded["metrics"]["roc_auc"] >= AUC_FLOOR


def test_predict_answers_a_probability_and_five_contributions(holdout) -> None:
    model = default_model()
    fraud_row = holdout.features[int(np.argmax(holdout.labels))]
    for row in (holdout.features[0], fraud_row):
        probability, contributions = model.predict(dict(zip(FEATURE_NAMES, row, strict=True)))
        assert 0.0 <= probability <= 1.0
        assert len(contributions) == CONTRIBUTIONS_COUNT
        assert len({each.feature for each in contributions}) == CONTRIBUTIONS_COUNT
        assert all(each.feature in FEATURE_NAMES for each in contributions)
        magnitudes = [abs(each.contribution) for each in contributions]
        assert magnitudes == sorted(magnitudes, reverse=True)


def test_the_flattened_trees_answer_what_scikit_learn_answers(holdout) -> None:
    model = default_model()
    ours = model.predict_many(holdout.features[:2000])
    theirs = model.estimator.predict_proba(holdout.features[:2000])[:, 1]
    assert np.abs(ours - theirs).max() < 1e-9


def test_one_prediction_takes_well_under_a_millisecond(holdout) -> None:
    model = default_model()
    features = dict(zip(FEATURE_NAMES, holdout.features[1], strict=True))
    for _ in range(50):
        model.predict(features)
    timings = []
    for _ in range(300):
        started = time.perf_counter()
        model.predict(features)
        timings.append((time.perf_counter() - started) * 1000)
    print(f"predict p50 {statistics.median(timings):.3f} ms")
    assert statistics.median(timings) < PREDICT_MS_MAX


def test_a_missing_or_non_finite_feature_is_refused() -> None:
    model = default_model()
    features = dict.fromkeys(FEATURE_NAMES, 0.0)
    with pytest.raises(ValueError, match="finite"):
        model.predict({**features, "amount_log": float("nan")})
    del features["rail_upi"]
    with pytest.raises(KeyError):
        model.predict(features)


def test_a_model_for_other_features_is_refused(tmp_path: Path) -> None:
    estimator, metadata = read_model_file(DEFAULT_MODEL_PATH)
    for names in (
        list(reversed(FEATURE_NAMES)),
        [*FEATURE_NAMES, "extra"],
        list(FEATURE_NAMES[:-1]),
    ):
        path = tmp_path / "other.pkl"
        path.write_bytes(pickle.dumps({**metadata, "feature_names": names, "estimator": estimator}))
        with pytest.raises(ModelFileError, match="other features"):
            load_model(path)


def test_a_file_of_another_kind_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "not_a_model.pkl"
    path.write_bytes(pickle.dumps({"format": 99}))
    with pytest.raises(ModelFileError, match="format"):
        load_model(path)
    path.write_bytes(b"not a pickle")
    with pytest.raises(ModelFileError, match="cannot read"):
        load_model(path)


def test_the_configured_path_is_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    trained, _ = train(seed=5, rows=2000, holdout_seed=6, holdout_rows=1000)
    path = tmp_path / "small.pkl"
    save(trained, path)
    monkeypatch.setenv("BEYONDPAY_RISK_MODEL_PATH", str(path))
    get_settings.cache_clear()
    default_model.cache_clear()
    try:
        assert default_model().version == trained.metadata["version"]
    finally:
        monkeypatch.delenv("BEYONDPAY_RISK_MODEL_PATH")
        get_settings.cache_clear()
        default_model.cache_clear()
    assert default_model().version != trained.metadata["version"]


def test_the_train_command_writes_a_model_file_and_prints_its_metrics(tmp_path: Path) -> None:
    out = tmp_path / "model.pkl"
    result = CliRunner().invoke(
        cli,
        [
            "risk",
            "train",
            "--seed",
            "7",
            "--rows",
            "2000",
            "--holdout-rows",
            "1000",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "ROC AUC" in result.output
    model = load_model(out)
    assert model.version.startswith("hgb-s7-r2000-")
    assert json.loads(out.with_suffix(".json").read_text())["metrics"]["rows"] == 1000
    refused = CliRunner().invoke(cli, ["risk", "train", "--seed", "2", "--out", str(out)])
    assert refused.exit_code == 2
