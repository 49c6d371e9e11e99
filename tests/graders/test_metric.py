"""Every registered metric agrees with scikit-learn to 1e-9 on randomized, shuffled data."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as sk

from heldout.graders import METRICS, GradingError, UnknownMetric, get_metric

Reference = Callable[[Any, Any], float]

LABEL_REFERENCES: dict[str, tuple[dict[str, Any], Reference]] = {
    "accuracy": ({}, sk.accuracy_score),
    "balanced_accuracy": ({}, sk.balanced_accuracy_score),
    "mcc": ({}, sk.matthews_corrcoef),
    "cohen_kappa": ({}, sk.cohen_kappa_score),
    "quadratic_weighted_kappa": ({}, lambda y, p: sk.cohen_kappa_score(y, p, weights="quadratic")),
    "f1_macro": ({}, lambda y, p: sk.f1_score(y, p, average="macro", zero_division=0.0)),
    "f1_weighted": ({}, lambda y, p: sk.f1_score(y, p, average="weighted", zero_division=0.0)),
}
BINARY_REFERENCES: dict[str, Reference] = {
    "precision": lambda y, p: sk.precision_score(y, p, zero_division=0.0),
    "recall": lambda y, p: sk.recall_score(y, p, zero_division=0.0),
    "f1": lambda y, p: sk.f1_score(y, p, zero_division=0.0),
}
PROBABILITY_REFERENCES: dict[str, Reference] = {
    "roc_auc": sk.roc_auc_score,
    "average_precision": sk.average_precision_score,
    "log_loss": lambda y, p: sk.log_loss(y, p, labels=[False, True]),
}
VALUE_REFERENCES: dict[str, Reference] = {
    "rmse": sk.root_mean_squared_error,
    "mae": sk.mean_absolute_error,
    "r2": sk.r2_score,
    "mape": sk.mean_absolute_percentage_error,
    "rmsle": sk.root_mean_squared_log_error,
}
SEEDS = range(12)


def shuffled(seed: int, *arrays: np.ndarray) -> list[np.ndarray]:
    order = np.random.default_rng(seed + 1000).permutation(arrays[0].size)
    return [a[order] for a in arrays]


def noisy_labels(rng: np.random.Generator, n: int, classes: np.ndarray) -> tuple[Any, Any]:
    y = rng.choice(classes, size=n, p=rng.dirichlet(np.ones(classes.size)))
    flip = rng.random(n) < rng.uniform(0.1, 0.9)
    pred = np.where(flip, rng.choice(classes, size=n), y)
    return y, pred


def test_registry_covers_the_issue_list() -> None:
    expected = set(LABEL_REFERENCES) | set(BINARY_REFERENCES)
    expected |= set(PROBABILITY_REFERENCES) | set(VALUE_REFERENCES)
    assert expected <= set(METRICS)
    for metric in METRICS.values():
        assert metric.description and "\n" not in metric.description
        assert metric.needs in ("labels", "probabilities", "values")
        assert metric.task in ("classification", "regression")


@pytest.mark.parametrize("name", sorted(LABEL_REFERENCES))
@pytest.mark.parametrize("kind", ["binary", "multiclass", "strings"])
def test_label_metrics_agree_with_sklearn(name: str, kind: str) -> None:
    params, reference = LABEL_REFERENCES[name]
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        classes = {
            "binary": np.array([0, 1]),
            "multiclass": np.arange(rng.integers(3, 7)) * 3 - 2,
            "strings": np.array(["bad", "fair", "good", "great"]),
        }[kind]
        y, pred = noisy_labels(rng, int(rng.integers(5, 3000)), classes)
        ours = get_metric(name)(*shuffled(seed, y, pred), **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = reference(y, pred)
        assert ours == pytest.approx(expected, abs=1e-9, rel=0), (seed, ours, expected)


@pytest.mark.parametrize("name", sorted(BINARY_REFERENCES))
def test_binary_metrics_agree_with_sklearn(name: str) -> None:
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        y, pred = noisy_labels(rng, int(rng.integers(1, 2000)), np.array([0, 1]))
        if seed % 4 == 0:
            pred = np.zeros_like(pred)  # nothing predicted positive: zero_division applies
        ours = get_metric(name)(*shuffled(seed, y, pred))
        assert ours == pytest.approx(BINARY_REFERENCES[name](y, pred), abs=1e-9, rel=0)


@pytest.mark.parametrize("average", ["micro", "macro", "weighted"])
@pytest.mark.parametrize("name", sorted(BINARY_REFERENCES))
def test_averaged_metrics_agree_with_sklearn(name: str, average: str) -> None:
    reference = getattr(sk, f"{name}_score")
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        y, pred = noisy_labels(rng, int(rng.integers(2, 2000)), np.arange(5))
        ours = get_metric(name)(y, pred, average=average)
        expected = reference(y, pred, average=average, zero_division=0.0)
        assert ours == pytest.approx(expected, abs=1e-9, rel=0)


def test_string_positive_label_is_a_parameter() -> None:
    rng = np.random.default_rng(3)
    y, pred = noisy_labels(rng, 500, np.array(["no", "yes"]))
    ours = get_metric("f1")(y, pred, pos_label="yes")
    assert ours == pytest.approx(sk.f1_score(y, pred, pos_label="yes"), abs=1e-9)
    with pytest.raises(GradingError, match="pos_label=1 is not a class"):
        get_metric("f1")(y, pred)


@pytest.mark.parametrize("name", sorted(PROBABILITY_REFERENCES))
def test_probability_metrics_agree_with_sklearn(name: str) -> None:
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        n = int(rng.integers(10, 5000))
        y = rng.random(n) < rng.uniform(0.05, 0.9)
        y[:2] = [True, False]
        p = np.clip(y * rng.uniform(0, 0.5) + rng.random(n) * 0.7, 0, 1)
        if seed % 3 == 0:
            p = np.round(p, 1)  # many ties
        if seed % 5 == 0:
            p[:5] = [0.0, 1.0, 1.0, 0.0, 1e-20]  # clipping matters for log_loss
        ours = get_metric(name)(*shuffled(seed, y.astype(int), p))
        expected = PROBABILITY_REFERENCES[name](y, p)
        assert ours == pytest.approx(expected, abs=1e-9, rel=0), (seed, ours, expected)


@pytest.mark.parametrize("name", sorted(VALUE_REFERENCES))
def test_regression_metrics_agree_with_sklearn(name: str) -> None:
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        n = int(rng.integers(2, 5000))
        y = rng.gamma(2.0, 50.0, size=n)
        pred = np.abs(y + rng.normal(0, rng.uniform(1, 100), size=n))
        if seed % 4 == 0:
            y[:1] = 0.0  # mape's epsilon floor
        ours = get_metric(name)(*shuffled(seed, y, pred))
        expected = VALUE_REFERENCES[name](y, pred)
        assert ours == pytest.approx(expected, abs=1e-9, rel=1e-12), (seed, ours, expected)


def test_r2_of_a_constant_target_is_finite_like_sklearn() -> None:
    y = np.full(10, 3.0)
    assert get_metric("r2")(y, y) == sk.r2_score(y, y) == 1.0
    assert get_metric("r2")(y, y + 1) == sk.r2_score(y, y + 1) == 0.0


def test_unknown_metric_lists_the_valid_names() -> None:
    with pytest.raises(UnknownMetric) as caught:
        get_metric("f2")
    for name in METRICS:
        assert name in str(caught.value)


def test_unknown_or_invalid_parameter_is_named() -> None:
    with pytest.raises(GradingError, match="no parameter beta; allowed: average, pos_label"):
        get_metric("f1").resolve({"beta": 2})
    with pytest.raises(GradingError, match="average='samples' is not one of"):
        get_metric("f1").resolve({"average": "samples"})
