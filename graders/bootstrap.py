"""Percentile bootstrap confidence intervals for a score, fast enough for large test sets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout.graders.errors import GradingError
from heldout.graders.metric import Metric

# Row resampling costs resamples x rows; past this many elements fewer resamples are drawn.
BUDGET = 20_000_000
MIN_RESAMPLES = 100


def interval(
    metric: Metric,
    y_true: NDArray[Any],
    y_pred: NDArray[Any],
    params: Mapping[str, Any],
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float | None, float | None]:
    """The `level` percentile interval of the score over bootstrap resamples of the rows.

    Label metrics depend on the rows only through the confusion matrix, so a resample is one
    multinomial draw of its cells: exact, and independent of the number of rows.
    """
    rng = np.random.default_rng(seed)
    if metric.from_confusion is not None and not metric.custom:
        scores = _confusion_scores(metric, y_true, y_pred, params, resamples, rng)
    elif metric.name in RANKED and not metric.custom:
        scores = _ranked_scores(metric.name, y_true, y_pred, params, resamples, rng)
    else:
        scores = _row_scores(metric, y_true, y_pred, params, resamples, rng)
    finite = scores[np.isfinite(scores)]
    if finite.size < max(2, scores.size // 2):
        return None, None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def _confusion_scores(
    metric: Metric,
    y_true: NDArray[Any],
    y_pred: NDArray[Any],
    params: Mapping[str, Any],
    resamples: int,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    from heldout.graders.classification import confusion

    assert metric.from_confusion is not None  # noqa: S101  (checked by the caller)
    cm, labels = confusion(y_true, y_pred)
    k = labels.size
    cells = cm.ravel()
    draws = rng.multinomial(int(cells.sum()), cells / cells.sum(), size=resamples)
    scores = np.empty(resamples)
    for i, draw in enumerate(draws.astype(np.float64)):
        matrix = draw.reshape(k, k)
        # As on real resampled rows: a class absent from both columns is no label at all.
        keep = (matrix.sum(axis=0) + matrix.sum(axis=1)) > 0
        scores[i] = _safe(metric.from_confusion, matrix[keep][:, keep], labels[keep], params)
    return scores


def _ranked_scores(
    name: str,
    y_true: NDArray[Any],
    y_pred: NDArray[Any],
    params: Mapping[str, Any],
    resamples: int,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Ranking metrics on resamples without re-sorting: sort once, weigh rows by draw counts.

    Rows a resample leaves out only repeat a point of the curve, which adds no area, so this
    equals scoring the resampled rows; a resample costs O(rows) instead of a sort.
    """
    from heldout.graders.classification import positives

    y = positives(y_true, params.get("pos_label", 1))
    score = y_pred.astype(np.float64)
    n = y.size
    order = np.argsort(score, kind="mergesort")[::-1]
    hits = y[order].astype(np.float64)
    ranked = score[order]
    ends = np.r_[np.flatnonzero(np.diff(ranked)), n - 1]
    count = max(MIN_RESAMPLES, min(resamples, 4 * BUDGET // max(n, 1)))
    scores = np.empty(count)
    for i in range(count):
        rows = rng.integers(0, n, size=n)  # the very rows _row_scores would draw
        weights = np.bincount(rows, minlength=n)[order].astype(np.float64)
        tps = np.cumsum(weights * hits)[ends]
        fps = np.cumsum(weights)[ends] - tps
        scores[i] = RANKED[name](tps, fps)
    return scores


def _auc(tps: NDArray[np.float64], fps: NDArray[np.float64]) -> float:
    if tps[-1] == 0 or fps[-1] == 0:
        return float("nan")
    return float(np.trapezoid(np.r_[0.0, tps] / tps[-1], np.r_[0.0, fps] / fps[-1]))


def _ap(tps: NDArray[np.float64], fps: NDArray[np.float64]) -> float:
    if tps[-1] == 0:
        return float("nan")
    seen = tps + fps
    precision = np.divide(tps, seen, out=np.zeros_like(tps), where=seen > 0)
    return float(np.sum(np.diff(np.r_[0.0, tps / tps[-1]]) * precision))


RANKED: dict[str, Callable[[NDArray[np.float64], NDArray[np.float64]], float]] = {
    "roc_auc": _auc,
    "average_precision": _ap,
}


def _row_scores(
    metric: Metric,
    y_true: NDArray[Any],
    y_pred: NDArray[Any],
    params: Mapping[str, Any],
    resamples: int,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    n = y_true.size
    count = max(MIN_RESAMPLES, min(resamples, BUDGET // max(n, 1)))
    scores = np.empty(count)
    for i in range(count):
        rows = rng.integers(0, n, size=n)
        scores[i] = _safe(metric.score, y_true[rows], y_pred[rows], params)
    return scores


def _safe(fn: Callable[..., float], *args: Any) -> float:
    """A resample can make a score undefined (one class only); it then does not count."""
    try:
        return float(fn(*args))
    except (GradingError, ZeroDivisionError, FloatingPointError, ValueError):
        return float("nan")
