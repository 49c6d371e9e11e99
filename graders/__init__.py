"""Graders: prediction validation, metrics, scoring. Pure: no Flask, no Docker, no DB."""

from heldout.graders.answers import Answers
from heldout.graders.custom import load_custom_metric
from heldout.graders.errors import GradingError, InvalidPredictions, UnknownMetric
from heldout.graders.grading import Grading, SplitScore, grade
from heldout.graders.metric import METRICS, Metric, get_metric, register_metric

__all__ = [
    "METRICS",
    "Answers",
    "Grading",
    "GradingError",
    "InvalidPredictions",
    "Metric",
    "SplitScore",
    "UnknownMetric",
    "get_metric",
    "grade",
    "load_custom_metric",
    "register_metric",
]
