"""The trained fraud model: loaded once per process, answering a probability and its reasons.

The file is written by ``beyondpay risk train`` (``risk.training``): a pickle of the
scikit-learn ``HistGradientBoostingClassifier`` and its metadata (version, feature names,
thresholds, training seed, the medians and importances the explanations use, metrics). The
packaged default is ``risk/models/default.pkl``; ``BEYONDPAY_RISK_MODEL_PATH`` points at
another. Loading a pickle runs code from the file, so only files we wrote are ever loaded: the
path is operator-controlled configuration, never anything a merchant or payer sends.

Prediction does not call scikit-learn: its per-call validation and per-tree dispatch cost about
a millisecond for a handful of rows. At load the trees are flattened into a few arrays, and all
rows walk all trees at once, one level per step (a test checks the answer equals
scikit-learn's to 1e-9).

Contributions are an approximation, not SHAP values: for each of the model's most important
features (by split gain in training), how much the probability falls when that feature alone
is set to its training median. All of them are computed in the same batched walk as the
prediction; the five largest in magnitude are reported (positive: the feature made the payment
look riskier than a typical one).
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import numpy as np

from beyondpay.kit.invariants import invariant
from beyondpay.kit.settings import get_settings
from beyondpay.risk.features import FEATURE_NAMES

MODEL_FILE_FORMAT: Final = 1
DEFAULT_MODEL_PATH: Final = Path(__file__).parent / "models" / "default.pkl"
CONTRIBUTIONS_COUNT: Final = 5
# Features probed for a contribution: the most important ones, a few more than are reported.
PROBED_FEATURES_MAX: Final = 8


class ModelFileError(ValueError):
    """The model file cannot be used: unreadable, of another format or for other features."""


@dataclass(frozen=True, slots=True)
class Contribution:
    feature: str
    value: float
    contribution: float  # probability points this feature adds over its training median


class _FlatForest:
    """Every tree's nodes in shared arrays; ``child[2 * node + go_right]`` is the next node.

    A leaf is its own child, so walking ``depth`` steps lands every row on its leaf in every
    tree whatever the tree's own depth.
    """

    def __init__(self, estimator: Any) -> None:
        features: list[np.ndarray] = []
        thresholds: list[np.ndarray] = []
        children: list[np.ndarray] = []
        values: list[np.ndarray] = []
        roots: list[int] = []
        offset = 0
        depth = 0
        for (predictor,) in estimator._predictors:
            nodes = predictor.nodes
            invariant(not nodes["is_categorical"].any(), "the model has no categorical splits")
            count = len(nodes)
            index = np.arange(count) + offset
            leaf = nodes["is_leaf"].astype(bool)
            left = np.where(leaf, index, nodes["left"].astype(np.int64) + offset)
            right = np.where(leaf, index, nodes["right"].astype(np.int64) + offset)
            children.append(np.stack([left, right], axis=1).reshape(-1))
            features.append(np.where(leaf, 0, nodes["feature_idx"]).astype(np.int64))
            thresholds.append(np.where(leaf, np.inf, nodes["num_threshold"]))
            values.append(np.where(leaf, nodes["value"], 0.0))
            roots.append(offset)
            depth = max(depth, int(nodes["depth"].max()))
            offset += count
        self.feature = np.concatenate(features)
        self.threshold = np.concatenate(thresholds)
        self.child = np.concatenate(children)
        self.value = np.concatenate(values)
        self.roots = np.asarray(roots, dtype=np.int64)
        self.depth = depth
        self.baseline = float(np.asarray(estimator._baseline_prediction).reshape(-1)[0])

    def probabilities(self, rows: np.ndarray) -> np.ndarray:
        """P(fraud) of each row (one row per payment, finite floats)."""
        node = np.broadcast_to(self.roots, (rows.shape[0], self.roots.shape[0])).copy()
        row_index = np.arange(rows.shape[0])[:, None]
        for _ in range(self.depth):
            go_right = rows[row_index, self.feature[node]] > self.threshold[node]
            node = self.child[2 * node + go_right]
        raw = self.baseline + self.value[node].sum(axis=1)
        return np.asarray(1.0 / (1.0 + np.exp(-raw)))


class Model:
    """A loaded model file. ``predict`` is pure and thread-safe (it only reads arrays)."""

    def __init__(self, estimator: Any, metadata: Mapping[str, Any]) -> None:
        names = tuple(metadata.get("feature_names", ()))
        if names != FEATURE_NAMES:
            raise ModelFileError(
                "the model was trained on other features than this code computes "
                f"(file: {len(names)} features, code: {len(FEATURE_NAMES)}); "
                "retrain it with `beyondpay risk train`"
            )
        self.version: str = str(metadata["version"])
        self.metadata = dict(metadata)
        self.estimator = estimator
        self._forest = _FlatForest(estimator)
        medians = metadata["medians"]
        importances = metadata["importances"]
        ranked = sorted(range(len(FEATURE_NAMES)), key=lambda index: -importances[index])
        self._probed = np.asarray(ranked[:PROBED_FEATURES_MAX], dtype=np.int64)
        self._probed_medians = np.asarray([medians[index] for index in self._probed])

    def predict(self, features: Mapping[str, float]) -> tuple[float, list[Contribution]]:
        """P(fraud) of one payment and the five features that moved it most."""
        row = np.asarray([float(features[name]) for name in FEATURE_NAMES])
        if not np.isfinite(row).all():
            raise ValueError("every feature must be a finite number")
        probes = len(self._probed)
        batch = np.tile(row, (probes + 1, 1))
        batch[np.arange(1, probes + 1), self._probed] = self._probed_medians
        probabilities = self._forest.probabilities(batch)
        probability = float(probabilities[0])
        effects = probability - probabilities[1:]
        order = np.argsort(-np.abs(effects), kind="stable")[:CONTRIBUTIONS_COUNT]
        contributions = [
            Contribution(
                feature=FEATURE_NAMES[int(self._probed[index])],
                value=float(row[int(self._probed[index])]),
                contribution=round(float(effects[index]), 6),
            )
            for index in order
        ]
        invariant(0.0 <= probability <= 1.0 and not math.isnan(probability), "a probability")
        return probability, contributions

    def predict_many(self, rows: np.ndarray) -> np.ndarray:
        """P(fraud) of each row of a feature matrix in ``FEATURE_NAMES`` order (for evaluation)."""
        return self._forest.probabilities(np.asarray(rows, dtype=np.float64))


def read_model_file(path: Path) -> tuple[Any, dict[str, Any]]:
    """The estimator and metadata of a file written by ``risk.training.save``."""
    try:
        with path.open("rb") as handle:
            # Unpickling runs code: the path is operator configuration and the file is ours.
            content = pickle.load(handle)  # noqa: S301
    except (OSError, pickle.UnpicklingError, EOFError) as error:
        raise ModelFileError(f"cannot read the model file {path}: {error}") from None
    if not isinstance(content, dict) or content.get("format") != MODEL_FILE_FORMAT:
        raise ModelFileError(f"{path} is not a beyondpay model file of format {MODEL_FILE_FORMAT}")
    metadata = {key: value for key, value in content.items() if key != "estimator"}
    return content["estimator"], metadata


def load_model(path: Path) -> Model:
    estimator, metadata = read_model_file(path)
    return Model(estimator, metadata)


@lru_cache(maxsize=1)
def default_model() -> Model:
    """The model of this process: ``BEYONDPAY_RISK_MODEL_PATH``, else the packaged default."""
    configured = get_settings().risk_model_path
    return load_model(configured if configured is not None else DEFAULT_MODEL_PATH)
