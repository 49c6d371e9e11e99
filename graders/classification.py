"""Exact numpy classification metrics, matching scikit-learn (tests check 1e-9) without its import.

Label metrics are functions of the confusion matrix over the labels present in either array,
as scikit-learn's are; that also makes their bootstrap a multinomial draw of the matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from heldout.graders.errors import GradingError

Array = NDArray[Any]
Floats = NDArray[np.float64]

# Beyond this span of integer labels, codes come from a sort instead of an offset.
_DIRECT_SPAN = 1 << 20


def encode(y_true: Array, y_pred: Array) -> tuple[Array, NDArray[np.intp], NDArray[np.intp]]:
    """Sorted labels present in either array, and both arrays as codes into them."""
    both = np.concatenate([y_true, y_pred])
    if both.dtype.kind in "iub" or (both.dtype.kind == "f" and _integral(both)):
        ints = both.astype(np.int64)
        low = int(ints.min()) if ints.size else 0
        span = (int(ints.max()) - low + 1) if ints.size else 0
        if span <= _DIRECT_SPAN:
            present = np.flatnonzero(np.bincount(ints - low, minlength=span))
            lookup = np.zeros(span, dtype=np.intp)
            lookup[present] = np.arange(present.size)
            codes = lookup[ints - low]
            labels = (present + low).astype(both.dtype)
            return labels, codes[: y_true.size], codes[y_true.size :]
    labels, codes = np.unique(both, return_inverse=True)
    return labels, codes[: y_true.size], codes[y_true.size :]


def _integral(values: Array) -> bool:
    return bool(np.isfinite(values).all() and (values == np.round(values)).all())


def confusion(y_true: Array, y_pred: Array) -> tuple[Floats, Array]:
    """Confusion matrix (rows true, columns predicted) and its labels."""
    labels, true_codes, pred_codes = encode(y_true, y_pred)
    k = labels.size
    counts = np.bincount(true_codes * k + pred_codes, minlength=k * k).reshape(k, k)
    return counts.astype(np.float64), labels


def accuracy(cm: Floats, labels: Array, params: Mapping[str, Any]) -> float:
    return float(np.trace(cm) / cm.sum())


def balanced_accuracy(cm: Floats, labels: Array, params: Mapping[str, Any]) -> float:
    support = cm.sum(axis=1)
    recalls = np.diag(cm)[support > 0] / support[support > 0]
    score = float(recalls.mean())
    if params.get("adjusted"):
        chance = 1 / recalls.size
        score = (score - chance) / (1 - chance)
    return score


def _divide(top: Floats, bottom: Floats, zero_division: float) -> Floats:
    out = np.full(top.shape, float(zero_division))
    np.divide(top, bottom, out=out, where=bottom != 0)
    return out


def _prf(cm: Floats, labels: Array, params: Mapping[str, Any], which: str) -> float:
    """Precision, recall or F1 with scikit-learn's averaging and zero_division rules."""
    average = params.get("average", "binary")
    zero = float(params.get("zero_division", 0.0))
    tp = np.diag(cm)
    true_sum = cm.sum(axis=1)
    pred_sum = cm.sum(axis=0)
    if average == "binary":
        pos_label = params.get("pos_label", 1)
        if labels.size > 2:
            raise GradingError(
                f"{which} with average='binary' needs two classes, found {labels.size}; "
                "use average='macro', 'micro' or 'weighted'"
            )
        hits = np.flatnonzero(labels == pos_label)
        if hits.size == 0:
            if labels.size == 2:
                shown = ", ".join(repr(x.item()) for x in labels)
                raise GradingError(f"pos_label={pos_label!r} is not a class; the classes: {shown}")
            tp = true_sum = pred_sum = np.zeros(1)
        else:
            i = int(hits[0])
            tp, true_sum, pred_sum = tp[i : i + 1], true_sum[i : i + 1], pred_sum[i : i + 1]
    elif average == "micro":
        tp, true_sum, pred_sum = (np.array([a.sum()]) for a in (tp, true_sum, pred_sum))
    if which == "precision":
        values = _divide(tp, pred_sum, zero)
    elif which == "recall":
        values = _divide(tp, true_sum, zero)
    else:
        values = _divide(2 * tp, true_sum + pred_sum, zero)
    if average == "weighted":
        if true_sum.sum() == 0:
            return zero
        return float(np.average(values, weights=true_sum))
    return float(values.mean())


def precision(cm: Floats, labels: Array, params: Mapping[str, Any]) -> float:
    return _prf(cm, labels, params, "precision")


def recall(cm: Floats, labels: Array, params: Mapping[str, Any]) -> float:
    return _prf(cm, labels, params, "recall")


def f1(cm: Floats, labels: Array, params: Mapping[str, Any]) -> float:
    return _prf(cm, labels, params, "f1")


def mcc(cm: Floats, labels: Array, params: Mapping[str, Any]) -> float:
    t_sum = cm.sum(axis=1)
    p_sum = cm.sum(axis=0)
    n = cm.sum()
    cov_tp = np.trace(cm) * n - t_sum @ p_sum
    cov_pp = n * n - p_sum @ p_sum
    cov_tt = n * n - t_sum @ t_sum
    if cov_pp * cov_tt == 0:
        return 0.0
    return float(cov_tp / np.sqrt(cov_tt * cov_pp))


def cohen_kappa(cm: Floats, labels: Array, params: Mapping[str, Any]) -> float:
    k = cm.shape[0]
    expected = np.outer(cm.sum(axis=0), cm.sum(axis=1)) / cm.sum()
    weights = params.get("weights")
    grid = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(np.float64)
    if weights is None:
        grid = (grid > 0).astype(np.float64)
    elif weights == "quadratic":
        grid = grid**2
    elif weights != "linear":
        raise GradingError(f"weights must be None, 'linear' or 'quadratic', not {weights!r}")
    return float(1 - (grid * cm).sum() / (grid * expected).sum())


def quadratic_kappa(cm: Floats, labels: Array, params: Mapping[str, Any]) -> float:
    return cohen_kappa(cm, labels, {"weights": "quadratic"})


# ---------------------------------------------------------------- probabilities of one class


def positives(y_true: Array, pos_label: Any) -> NDArray[np.bool_]:
    """Which rows belong to the positive class; a pos_label that is no class is an error."""
    hits = y_true == pos_label
    if not isinstance(hits, np.ndarray) or (not hits.any() and y_true.size):
        shown = ", ".join(repr(x.item()) for x in np.unique(y_true)[:10])
        raise GradingError(f"pos_label={pos_label!r} is not one of the classes: {shown}")
    return hits


def curve(y: NDArray[np.bool_], score: Floats) -> tuple[Floats, Floats, Floats]:
    """True and false positive counts at each distinct threshold, highest threshold first."""
    order = np.argsort(score, kind="mergesort")[::-1]
    ranked = score[order]
    distinct = np.flatnonzero(np.diff(ranked))
    ends = np.r_[distinct, y.size - 1]
    tps = np.cumsum(y[order], dtype=np.float64)[ends]
    fps = 1.0 + ends - tps
    return tps, fps, ranked[ends]


def roc_auc(y: NDArray[np.bool_], score: Floats) -> float:
    tps, fps, _ = curve(y, score)
    if tps[-1] == 0 or fps[-1] == 0:
        raise GradingError("roc_auc is undefined when the rows hold only one class")
    tpr = np.r_[0.0, tps] / tps[-1]
    fpr = np.r_[0.0, fps] / fps[-1]
    return float(np.trapezoid(tpr, fpr))


def average_precision(y: NDArray[np.bool_], score: Floats) -> float:
    tps, fps, _ = curve(y, score)
    if tps[-1] == 0:
        raise GradingError("average_precision is undefined when no row is positive")
    precisions = tps / (tps + fps)
    recalls = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recalls]) * precisions))


def log_loss(y: NDArray[np.bool_], score: Floats) -> float:
    eps = np.finfo(np.float64).eps
    chosen = np.where(y, score, 1 - score)
    return float(-np.log(np.clip(chosen, eps, 1 - eps)).mean())
