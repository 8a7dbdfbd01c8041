"""Training the fraud model on the simulator, and measuring it on another seed.

``train`` fits a ``HistGradientBoostingClassifier`` on one seed's simulation and evaluates it on
a held-out seed (other payers, other merchants, other episodes): ROC AUC, and precision and
recall at the default segment's challenge and block thresholds, beside a rules-only baseline
(hand rules over the same features) measured on the same rows. ``save`` writes the model file
``risk.model`` loads.
"""

from __future__ import annotations

import hashlib
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

from beyondpay.risk.domain import SCORE_MAX, Segment, thresholds_for
from beyondpay.risk.features import FEATURE_NAMES
from beyondpay.risk.model import MODEL_FILE_FORMAT, Model
from beyondpay.risk.simulator import Dataset, simulate

TRAINING_SEED_DEFAULT: Final = 1
HOLDOUT_SEED_DEFAULT: Final = 2
TRAINING_ROWS_DEFAULT: Final = 200_000
HOLDOUT_ROWS_DEFAULT: Final = 50_000
# Small on purpose: the file stays well under 2 MB and one prediction well under a millisecond.
TREES_MAX: Final = 150
TREE_DEPTH_MAX: Final = 6
LEAVES_MAX: Final = 24
LEARNING_RATE: Final = 0.1
RANDOM_STATE: Final = 0


@dataclass(frozen=True, slots=True)
class Metrics:
    rows: int
    fraud_rows: int
    roc_auc: float
    challenge_precision: float
    challenge_recall: float
    block_precision: float
    block_recall: float
    baseline_roc_auc: float
    baseline_precision: float
    baseline_recall: float

    def as_dict(self) -> dict[str, float | int]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(frozen=True, slots=True)
class TrainedModel:
    estimator: HistGradientBoostingClassifier
    metadata: dict[str, Any]

    def model(self) -> Model:
        return Model(self.estimator, self.metadata)


def _column(name: str) -> int:
    return FEATURE_NAMES.index(name)


def rules_baseline(features: np.ndarray) -> np.ndarray:
    """A score in 0..1 from hand rules, the comparison the model must beat.

    The share of these rules that fire: an amount five times the payer's usual, a new device
    paying a new payee, five or more payments in the hour, five or more new payers of the payee
    in a day, and travel faster than an aeroplane since the last payment.
    """
    fired = np.stack(
        [
            features[:, _column("amount_to_payer_mean")] >= 5,
            (features[:, _column("new_device")] == 1) & (features[:, _column("new_payee")] == 1),
            features[:, _column("count_1h")] >= 5,
            features[:, _column("payee_new_payers_24h")] >= 5,
            features[:, _column("geo_speed_kmh")] >= 900,
        ],
        axis=1,
    )
    return np.asarray(fired.mean(axis=1))


def _precision_recall(flagged: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    true_positives = float((flagged & (labels == 1)).sum())
    precision = true_positives / float(flagged.sum()) if flagged.any() else 0.0
    recall = true_positives / float((labels == 1).sum()) if (labels == 1).any() else 0.0
    return round(precision, 4), round(recall, 4)


def evaluate(model: Model, holdout: Dataset) -> Metrics:
    """The model and the baseline on the same held-out rows, at the default thresholds."""
    labels = holdout.labels
    probabilities = model.predict_many(holdout.features)
    scores = np.rint(probabilities * SCORE_MAX)
    thresholds = thresholds_for(Segment.default)
    challenge = _precision_recall(scores >= thresholds.challenge_score_min, labels)
    block = _precision_recall(scores >= thresholds.block_score_min, labels)
    baseline = rules_baseline(holdout.features)
    # The baseline flags a payment when any two of its rules fire.
    baseline_flagged = _precision_recall(baseline >= 0.4, labels)
    return Metrics(
        rows=len(labels),
        fraud_rows=int(labels.sum()),
        roc_auc=round(float(roc_auc_score(labels, probabilities)), 4),
        challenge_precision=challenge[0],
        challenge_recall=challenge[1],
        block_precision=block[0],
        block_recall=block[1],
        baseline_roc_auc=round(float(roc_auc_score(labels, baseline)), 4),
        baseline_precision=baseline_flagged[0],
        baseline_recall=baseline_flagged[1],
    )


def _importances(estimator: HistGradientBoostingClassifier) -> list[float]:
    gains = np.zeros(len(FEATURE_NAMES))
    for (predictor,) in estimator._predictors:
        nodes = predictor.nodes[predictor.nodes["is_leaf"] == 0]
        np.add.at(gains, nodes["feature_idx"], nodes["gain"])
    total = gains.sum() or 1.0
    return [round(float(gain / total), 6) for gain in gains]


def train(
    *,
    seed: int = TRAINING_SEED_DEFAULT,
    rows: int = TRAINING_ROWS_DEFAULT,
    holdout_seed: int = HOLDOUT_SEED_DEFAULT,
    holdout_rows: int = HOLDOUT_ROWS_DEFAULT,
) -> tuple[TrainedModel, Metrics]:
    """Fit on ``seed``'s simulation, measure on ``holdout_seed``'s."""
    training = simulate(seed, rows)
    estimator = HistGradientBoostingClassifier(
        max_iter=TREES_MAX,
        max_depth=TREE_DEPTH_MAX,
        max_leaf_nodes=LEAVES_MAX,
        learning_rate=LEARNING_RATE,
        early_stopping=False,
        random_state=RANDOM_STATE,
    )
    estimator.fit(training.features, training.labels)
    thresholds = thresholds_for(Segment.default)
    metadata: dict[str, Any] = {
        "format": MODEL_FILE_FORMAT,
        "feature_names": list(FEATURE_NAMES),
        "thresholds": {
            "challenge_score_min": thresholds.challenge_score_min,
            "block_score_min": thresholds.block_score_min,
        },
        "training_seed": seed,
        "training_rows": rows,
        "holdout_seed": holdout_seed,
        "medians": [float(value) for value in np.median(training.features, axis=0)],
        "importances": _importances(estimator),
    }
    metadata["version"] = _version(estimator, seed, rows)
    trained = TrainedModel(estimator, metadata)
    metrics = evaluate(trained.model(), simulate(holdout_seed, holdout_rows))
    metadata["metrics"] = metrics.as_dict()
    return trained, metrics


def _version(estimator: HistGradientBoostingClassifier, seed: int, rows: int) -> str:
    """Names the trees themselves, so two different models never share a version."""
    digest = hashlib.sha256()
    for (predictor,) in estimator._predictors:
        digest.update(predictor.nodes.tobytes())
    return f"hgb-s{seed}-r{rows}-{digest.hexdigest()[:10]}"


def save(trained: TrainedModel, path: Path) -> None:
    """The model file (written whole, then renamed into place) and its metrics as JSON beside."""
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.partial")
    with staging.open("wb") as handle:
        pickle.dump({**trained.metadata, "estimator": trained.estimator}, handle, protocol=5)
    staging.replace(path)
    summary: Mapping[str, Any] = {
        key: value for key, value in trained.metadata.items() if key not in {"format"}
    }
    path.with_suffix(".json").write_text(json.dumps(summary, indent=2) + "\n")
