"""The metric registry: name -> Metric, each knowing its direction, inputs and parameters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from heldout.graders import classification as clf
from heldout.graders import regression as reg
from heldout.graders.errors import GradingError, UnknownMetric

Needs = Literal["labels", "probabilities", "values"]
Task = Literal["classification", "regression"]
Array = NDArray[Any]
ScoreFn = Callable[[Array, Array, Mapping[str, Any]], float]
ConfusionFn = Callable[[NDArray[np.float64], Array, Mapping[str, Any]], float]


@dataclass(frozen=True)
class Metric:
    """One metric: `score(y_true, y_pred, params)` plus what it needs and which way is better.

    `needs` is "labels" (predicted classes), "probabilities" (of the positive class) or, for
    regression, "values". Label metrics also carry `from_confusion`, used by the bootstrap.
    """

    name: str
    description: str
    higher_is_better: bool
    needs: Needs
    task: Task
    score: ScoreFn
    params: Mapping[str, Any] = field(default_factory=dict)
    choices: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    from_confusion: ConfusionFn | None = None
    custom: bool = False

    def resolve(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """The defaults overridden by `params`; unknown names or values are a GradingError."""
        given = dict(params or {})
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            allowed = ", ".join(sorted(self.params)) or "none"
            raise GradingError(
                f"metric {self.name} has no parameter {', '.join(unknown)}; allowed: {allowed}"
            )
        for key, value in given.items():
            options = self.choices.get(key)
            if options is not None and value not in options:
                raise GradingError(
                    f"metric {self.name}: {key}={value!r} is not one of "
                    f"{', '.join(repr(o) for o in options)}"
                )
        return {**self.params, **given}

    def __call__(self, y_true: Any, y_pred: Any, **params: Any) -> float:
        """Score two aligned arrays (labels or values first, predictions second)."""
        return self.score(np.asarray(y_true), np.asarray(y_pred), self.resolve(params))


def _labels(fn: ConfusionFn) -> ScoreFn:
    def score(y_true: Array, y_pred: Array, params: Mapping[str, Any]) -> float:
        cm, labels = clf.confusion(y_true, y_pred)
        return fn(cm, labels, params)

    return score


def _probabilities(fn: Callable[[NDArray[np.bool_], NDArray[np.float64]], float]) -> ScoreFn:
    def score(y_true: Array, y_pred: Array, params: Mapping[str, Any]) -> float:
        y = clf.positives(y_true, params.get("pos_label", 1))
        return fn(y, y_pred.astype(np.float64))

    return score


def _values(fn: Callable[[NDArray[np.float64], NDArray[np.float64]], float]) -> ScoreFn:
    def score(y_true: Array, y_pred: Array, params: Mapping[str, Any]) -> float:
        return fn(y_true.astype(np.float64), y_pred.astype(np.float64))

    return score


def label_metric(
    name: str,
    description: str,
    fn: ConfusionFn,
    params: Mapping[str, Any] | None = None,
    choices: Mapping[str, tuple[Any, ...]] | None = None,
) -> Metric:
    return Metric(
        name,
        description,
        True,
        "labels",
        "classification",
        _labels(fn),
        dict(params or {}),
        dict(choices or {}),
        from_confusion=fn,
    )


def probability_metric(
    name: str,
    description: str,
    fn: Callable[[NDArray[np.bool_], NDArray[np.float64]], float],
    higher_is_better: bool = True,
) -> Metric:
    return Metric(
        name,
        description,
        higher_is_better,
        "probabilities",
        "classification",
        _probabilities(fn),
        {"pos_label": 1},
    )


def value_metric(
    name: str,
    description: str,
    fn: Callable[[NDArray[np.float64], NDArray[np.float64]], float],
    higher_is_better: bool = False,
) -> Metric:
    return Metric(name, description, higher_is_better, "values", "regression", _values(fn))


_AVERAGES = ("binary", "micro", "macro", "weighted")
_PRF = {"pos_label": 1, "average": "binary", "zero_division": 0.0}
_PRF_CHOICES = {"average": _AVERAGES, "zero_division": (0.0, 1.0)}
_ZERO = {"zero_division": 0.0}
_ZERO_CHOICES = {"zero_division": (0.0, 1.0)}

_BUILTIN = [
    label_metric("accuracy", "Share of rows whose predicted class is right.", clf.accuracy),
    label_metric(
        "balanced_accuracy",
        "Mean recall over the classes; fair under class imbalance.",
        clf.balanced_accuracy,
        {"adjusted": False},
        {"adjusted": (False, True)},
    ),
    label_metric(
        "precision",
        "Share of predicted positives that are positive (pos_label, average).",
        clf.precision,
        _PRF,
        _PRF_CHOICES,
    ),
    label_metric(
        "recall",
        "Share of positives that are found (pos_label, average).",
        clf.recall,
        _PRF,
        _PRF_CHOICES,
    ),
    label_metric(
        "f1",
        "Harmonic mean of precision and recall (pos_label, average).",
        clf.f1,
        _PRF,
        _PRF_CHOICES,
    ),
    label_metric(
        "f1_macro",
        "F1 averaged over classes, each class counting equally.",
        lambda cm, labels, p: clf.f1(cm, labels, {**p, "average": "macro"}),
        _ZERO,
        _ZERO_CHOICES,
    ),
    label_metric(
        "f1_weighted",
        "F1 averaged over classes, weighted by their support.",
        lambda cm, labels, p: clf.f1(cm, labels, {**p, "average": "weighted"}),
        _ZERO,
        _ZERO_CHOICES,
    ),
    probability_metric(
        "roc_auc", "Area under the ROC curve of positive-class probabilities.", clf.roc_auc
    ),
    probability_metric(
        "log_loss",
        "Cross-entropy of positive-class probabilities (lower is better).",
        clf.log_loss,
        higher_is_better=False,
    ),
    probability_metric(
        "average_precision",
        "Area under the precision-recall curve (step-wise).",
        clf.average_precision,
    ),
    label_metric("mcc", "Matthews correlation coefficient, from -1 to 1.", clf.mcc),
    label_metric(
        "cohen_kappa",
        "Agreement beyond chance (weights: None, linear, quadratic).",
        clf.cohen_kappa,
        {"weights": None},
        {"weights": (None, "linear", "quadratic")},
    ),
    label_metric(
        "quadratic_weighted_kappa",
        "Cohen's kappa with quadratic weights, for ordinal classes.",
        clf.quadratic_kappa,
    ),
    value_metric("rmse", "Root mean squared error (lower is better).", reg.rmse),
    value_metric("mae", "Mean absolute error (lower is better).", reg.mae),
    value_metric("r2", "Coefficient of determination; 1 is perfect.", reg.r2, True),
    value_metric(
        "mape", "Mean absolute percentage error, as a fraction (lower is better).", reg.mape
    ),
    value_metric("rmsle", "Root mean squared log error (lower is better).", reg.rmsle),
]

METRICS: dict[str, Metric] = {metric.name: metric for metric in _BUILTIN}


def get_metric(name: str) -> Metric:
    """The registered metric called `name`; otherwise UnknownMetric listing the valid names."""
    try:
        return METRICS[name]
    except KeyError:
        raise UnknownMetric(
            f"unknown metric {name!r}; valid metrics: {', '.join(sorted(METRICS))}"
        ) from None


def register_metric(metric: Metric, replace: bool = False) -> Metric:
    """Add a metric to the registry; an existing name is an error unless `replace`."""
    if metric.name in METRICS and not replace and METRICS[metric.name] is not metric:
        raise GradingError(f"a metric named {metric.name!r} is already registered")
    METRICS[metric.name] = metric
    return metric
