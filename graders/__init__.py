"""Graders: prediction validation, metrics, scoring. Pure: no Flask, no Docker, no DB."""

from heldout.graders.errors import GradingError, InvalidPredictions, UnknownMetric
from heldout.graders.metric import METRICS, Metric, get_metric, register_metric

__all__ = [
    "METRICS",
    "GradingError",
    "InvalidPredictions",
    "Metric",
    "UnknownMetric",
    "get_metric",
    "register_metric",
]
