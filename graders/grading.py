"""Grade one predictions file: public and private scores, baselines, intervals and plots."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from heldout.graders import bootstrap, plots
from heldout.graders.answers import Answers
from heldout.graders.classification import positives
from heldout.graders.errors import GradingError, InvalidPredictions
from heldout.graders.metric import Metric, get_metric
from heldout.graders.predictions import Source, load

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa


@dataclass(frozen=True)
class SplitScore:
    """The score on one split's rows, its bootstrap interval and a constant predictor's score."""

    score: float
    n: int
    ci_low: float | None = None
    ci_high: float | None = None
    baseline: float | None = None


@dataclass(frozen=True)
class Grading:
    """The outcome of grading: `public` is shown to the candidate, `private` to reviewers only."""

    metric: str
    higher_is_better: bool
    public: SplitScore
    private: SplitScore | None
    params: dict[str, Any] = field(default_factory=dict)
    plots: dict[str, str] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return self.public.score

    def to_json(self, plots: bool = False) -> dict[str, Any]:
        """JSON-ready: `score` is the public score (all rows when there is no split)."""
        payload: dict[str, Any] = {
            "metric": self.metric,
            "score": self.public.score,
            "private_score": self.private.score if self.private else None,
            "higher_is_better": self.higher_is_better,
            "params": {k: v for k, v in self.params.items() if _plain(v)},
            "public": asdict(self.public),
            "private": asdict(self.private) if self.private else None,
        }
        if plots:
            payload["plots"] = dict(self.plots)
        return payload


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def grade(
    predictions: Source,
    answers: pd.DataFrame | pa.Table | Answers,
    metric: str | Metric = "f1",
    params: Mapping[str, Any] | None = None,
    id_col: str | None = None,
    target_col: str | None = None,
    confidence: bool = True,
    plots: bool = True,
    seed: int = 0,
    resamples: int = 1000,
    name: str = "predictions.csv",
) -> Grading:
    """Validate `predictions` against the answer key and score its public and private rows.

    `answers` has the id, the target and optionally `split` (public/private; without it every
    row is public). Raises InvalidPredictions (the candidate's fault, message for them),
    UnknownMetric, or GradingError (the challenge is set up wrongly).
    """
    chosen = metric if isinstance(metric, Metric) else get_metric(metric)
    resolved = chosen.resolve(params)
    key = (
        answers if isinstance(answers, Answers) else Answers.from_table(answers, id_col, target_col)
    )
    if chosen.needs != "labels" and not key.numeric and chosen.task == "regression":
        raise GradingError(f"{chosen.name} needs a numeric target; {key.target_col!r} is text")
    y_pred = load(predictions, key, chosen.needs, name)
    if chosen.name == "rmsle":
        _check_above(y_pred, key, name)
    constant = _baseline_value(chosen, key.target, resolved)
    private = key.private if key.private is not None else np.zeros(key.n, dtype=bool)
    if private.all():
        raise GradingError("the answer key has no public rows to show the candidate")
    public = _split(
        chosen, resolved, key.target[~private], y_pred[~private], constant, confidence,
        resamples, seed,
    )  # fmt: skip
    hidden = None
    if private.any():
        hidden = _split(
            chosen, resolved, key.target[private], y_pred[private], constant, confidence,
            resamples, seed,
        )  # fmt: skip
    return Grading(
        metric=chosen.name,
        higher_is_better=chosen.higher_is_better,
        public=public,
        private=hidden,
        params=resolved,
        plots=_plots(chosen, resolved, key.target, y_pred, seed) if plots else {},
    )


def _split(
    metric: Metric,
    params: Mapping[str, Any],
    y_true: NDArray[Any],
    y_pred: NDArray[Any],
    constant: Any,
    confidence: bool,
    resamples: int,
    seed: int,
) -> SplitScore:
    score = metric.score(y_true, y_pred, params)
    low = high = None
    if confidence:
        low, high = bootstrap.interval(metric, y_true, y_pred, params, resamples, seed)
    baseline = None
    if constant is not None:
        try:
            baseline = metric.score(y_true, np.full(y_true.size, constant), params)
        except GradingError:
            baseline = None  # undefined for a constant predictor; the score still stands
    return SplitScore(score, int(y_true.size), low, high, baseline)


def _baseline_value(metric: Metric, target: NDArray[Any], params: Mapping[str, Any]) -> Any:
    """What a model that ignores the features predicts: majority class, prior or mean."""
    if metric.needs == "labels":
        values, counts = np.unique(target, return_counts=True)
        return values[int(np.argmax(counts))]
    if metric.needs == "probabilities":
        try:
            return float(positives(target, params.get("pos_label", 1)).mean())
        except GradingError:
            return None
    return float(np.mean(target.astype(np.float64)))


def _check_above(values: NDArray[Any], key: Answers, name: str) -> None:
    low = np.flatnonzero(values <= -1)
    if low.size:
        examples = tuple(str(i) for i in key.ids.take(low[:5]).to_pylist())
        what = f"{name} has {low.size} value(s) in {key.target_col!r} at or below -1"
        rule = "rmsle takes log(1 + prediction), so every prediction must be above -1."
        seen = low if key.private is None else low[~key.private[low]]
        if seen.size:  # the candidate is told only public test ids
            public_ids = ", ".join(str(i) for i in key.ids.take(seen[:5]).to_pylist())
            public = f"{what}, for example for ids {public_ids}; {rule}"
        else:
            public = f"{what}, all of them on hidden test rows; {rule}"
        raise InvalidPredictions(
            f"{what}, for example for ids {', '.join(examples)}; {rule}",
            "value_range",
            int(low.size),
            examples,
            public=public,
        )


def _plots(
    metric: Metric, params: Mapping[str, Any], y_true: NDArray[Any], y_pred: NDArray[Any], seed: int
) -> dict[str, str]:
    """SVG plots over all scored rows (reviewers see public and private alike)."""
    if metric.needs == "labels":
        return {"confusion_matrix": plots.confusion_matrix(y_true, y_pred)}
    if metric.needs == "probabilities":
        try:
            y = positives(y_true, params.get("pos_label", 1))
        except GradingError:
            return {}
        score = y_pred.astype(np.float64)
        return {
            "confusion_matrix": plots.confusion_matrix(y.astype(np.int64), score >= 0.5),
            "roc_curve": plots.roc_curve(y, score),
            "precision_recall_curve": plots.precision_recall_curve(y, score),
        }
    y_num, pred = y_true.astype(np.float64), y_pred.astype(np.float64)
    return {
        "predicted_vs_actual": plots.predicted_vs_actual(y_num, pred, seed),
        "residuals": plots.residuals(y_num, pred, seed),
    }
