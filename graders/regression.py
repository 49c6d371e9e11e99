"""Exact numpy regression metrics, matching scikit-learn (tests check 1e-9) without its import."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from heldout.graders.errors import GradingError

Floats = NDArray[np.float64]


def rmse(y: Floats, pred: Floats) -> float:
    return float(np.sqrt(np.mean((y - pred) ** 2)))


def mae(y: Floats, pred: Floats) -> float:
    return float(np.mean(np.abs(y - pred)))


def r2(y: Floats, pred: Floats) -> float:
    residual = float(np.sum((y - pred) ** 2))
    total = float(np.sum((y - y.mean()) ** 2))
    if total == 0:
        # scikit-learn's force_finite: a constant target scores 1 if matched exactly, else 0
        return 1.0 if residual == 0 else 0.0
    return 1 - residual / total


def mape(y: Floats, pred: Floats) -> float:
    eps = np.finfo(np.float64).eps
    return float(np.mean(np.abs(y - pred) / np.maximum(np.abs(y), eps)))


def rmsle(y: Floats, pred: Floats) -> float:
    if (y <= -1).any():
        raise GradingError("rmsle needs every true value above -1")
    return float(np.sqrt(np.mean((np.log1p(y) - np.log1p(pred)) ** 2)))
