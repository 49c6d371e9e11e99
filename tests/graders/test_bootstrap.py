"""Bootstrap intervals: the fast paths give what resampling rows and rescoring would give."""

from __future__ import annotations

import numpy as np
import pytest

from heldout.graders import bootstrap, get_metric


@pytest.mark.parametrize("name", ["roc_auc", "average_precision"])
def test_ranked_resamples_equal_rescoring_the_resampled_rows(name: str) -> None:
    rng = np.random.default_rng(2)
    n = 400
    y = rng.integers(0, 2, n)
    score = np.round(np.clip(y * 0.3 + rng.random(n) * 0.7, 0, 1), 2)  # ties
    metric = get_metric(name)
    params = metric.resolve(None)
    fast = bootstrap._ranked_scores(name, y, score, params, 300, np.random.default_rng(5))
    slow = bootstrap._row_scores(metric, y, score, params, 300, np.random.default_rng(5))
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", ["accuracy", "f1", "mcc", "f1_macro", "cohen_kappa"])
def test_confusion_draws_match_row_resampling_in_distribution(name: str) -> None:
    rng = np.random.default_rng(3)
    n = 2000
    y = rng.integers(0, 3 if name in ("f1_macro", "cohen_kappa") else 2, n)
    pred = np.where(rng.random(n) < 0.7, y, rng.integers(0, y.max() + 1, n))
    metric = get_metric(name)
    params = metric.resolve(None)
    low, high = bootstrap.interval(metric, y, pred, params, 2000, seed=1)
    rows = bootstrap._row_scores(metric, y, pred, params, 2000, np.random.default_rng(1))
    row_low, row_high = np.percentile(rows, [2.5, 97.5])
    assert low is not None and high is not None
    width = row_high - row_low
    assert abs(low - row_low) < 0.1 * width and abs(high - row_high) < 0.1 * width


def test_undefined_resamples_are_left_out() -> None:
    y = np.array([1] * 3 + [0] * 297)  # most resamples of 3 positives keep one, some none
    score = np.linspace(0, 1, 300)
    metric = get_metric("roc_auc")
    low, high = bootstrap.interval(metric, y, score, metric.resolve(None), 500, seed=0)
    assert low is not None and high is not None and 0 <= low <= high <= 1
