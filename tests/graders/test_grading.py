"""grade(): public and private scores agree with scikit-learn, plus baselines, intervals, plots."""

from __future__ import annotations

import json
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from heldout.graders import (
    METRICS,
    Answers,
    GradingError,
    UnknownMetric,
    get_metric,
    grade,
    load_custom_metric,
)

SKLEARN: dict[str, Any] = {
    "accuracy": sk.accuracy_score,
    "balanced_accuracy": sk.balanced_accuracy_score,
    "precision": lambda y, p: sk.precision_score(y, p, zero_division=0.0),
    "recall": lambda y, p: sk.recall_score(y, p, zero_division=0.0),
    "f1": lambda y, p: sk.f1_score(y, p, zero_division=0.0),
    "f1_macro": lambda y, p: sk.f1_score(y, p, average="macro", zero_division=0.0),
    "f1_weighted": lambda y, p: sk.f1_score(y, p, average="weighted", zero_division=0.0),
    "roc_auc": sk.roc_auc_score,
    "log_loss": lambda y, p: sk.log_loss(y, p, labels=[0, 1]),
    "average_precision": sk.average_precision_score,
    "mcc": sk.matthews_corrcoef,
    "cohen_kappa": sk.cohen_kappa_score,
    "quadratic_weighted_kappa": lambda y, p: sk.cohen_kappa_score(y, p, weights="quadratic"),
    "rmse": sk.root_mean_squared_error,
    "mae": sk.mean_absolute_error,
    "r2": sk.r2_score,
    "mape": sk.mean_absolute_percentage_error,
    "rmsle": sk.root_mean_squared_log_error,
}


def challenge(metric: str, seed: int, n: int = 600) -> tuple[pd.DataFrame, pd.DataFrame]:
    """An answer key with a public/private split and a noisy model's predictions for it."""
    rng = np.random.default_rng(seed)
    ids = rng.choice(10**9, size=n, replace=False)
    split = np.where(rng.random(n) < 0.4, "private", "public")
    task = get_metric(metric)
    if task.task == "regression":
        y: Any = rng.gamma(2.0, 30.0, size=n)
        pred: Any = np.abs(y + rng.normal(0, 15, size=n))
    elif task.needs == "probabilities":
        y = (rng.random(n) < 0.35).astype(int)
        pred = np.round(np.clip(y * 0.35 + rng.random(n) * 0.65, 0, 1), 3)
    else:
        y = rng.integers(0, 2 if metric in ("precision", "recall", "f1") else 4, size=n)
        pred = np.where(rng.random(n) < 0.6, y, rng.integers(0, y.max() + 1, size=n))
    answers = pd.DataFrame({"row_id": ids, "target": y, "split": split})
    predictions = pd.DataFrame({"row_id": ids, "target": pred}).sample(frac=1, random_state=seed)
    return answers, predictions


def written(frame: pd.DataFrame) -> bytes:
    # repr-exact floats, as a candidate's pandas would write them
    return frame.to_csv(index=False, float_format="%.17g").encode()


@pytest.mark.parametrize("metric", sorted(SKLEARN))
def test_public_and_private_scores_agree_with_sklearn(metric: str) -> None:
    for seed in range(4):
        answers, predictions = challenge(metric, seed)
        result = grade(written(predictions), answers, metric, confidence=False, plots=False)
        joined = answers.merge(predictions, on="row_id", suffixes=("", "_pred"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for split, scored in (("public", result.public), ("private", result.private)):
                rows = joined[joined.split == split]
                assert scored is not None and scored.n == len(rows)
                expected = SKLEARN[metric](rows.target, rows.target_pred)
                assert scored.score == pytest.approx(expected, abs=1e-9, rel=1e-12)
        assert result.to_json()["score"] == result.public.score


def test_without_a_split_every_row_is_public() -> None:
    answers, predictions = challenge("accuracy", 1)
    result = grade(written(predictions), answers.drop(columns="split"), "accuracy", plots=False)
    assert result.private is None and result.public.n == len(answers)
    joined = answers.merge(predictions, on="row_id")
    assert result.public.score == pytest.approx(sk.accuracy_score(joined.target_x, joined.target_y))


def test_text_ids_and_text_labels_join_exactly() -> None:
    answers = pd.DataFrame(
        {"user": [f"u-{i:04d}" for i in range(300)], "plan": np.tile(["free", "pro", "team"], 100)}
    )
    rng = np.random.default_rng(5)
    guess = np.where(rng.random(300) < 0.7, answers.plan, "free")
    predictions = pd.DataFrame({"user": answers.user, "plan": guess}).iloc[::-1]
    result = grade(written(predictions), answers, "f1_macro", confidence=False, plots=False)
    expected = sk.f1_score(answers.plan, guess, average="macro")
    assert result.public.score == pytest.approx(expected, abs=1e-12)


def test_baselines_are_the_constant_predictors_scores() -> None:
    answers, predictions = challenge("f1_macro", 2)
    result = grade(written(predictions), answers, "f1_macro", confidence=False, plots=False)
    majority = answers.target.mode().min()
    public = answers[answers.split == "public"]
    expected = sk.f1_score(public.target, np.full(len(public), majority), average="macro")
    assert result.public.baseline == pytest.approx(expected, abs=1e-12)

    answers, predictions = challenge("rmse", 2)
    result = grade(written(predictions), answers, "rmse", confidence=False, plots=False)
    private = answers[answers.split == "private"]
    mean = np.full(len(private), answers.target.mean())
    assert result.private is not None
    assert result.private.baseline == pytest.approx(
        sk.root_mean_squared_error(private.target, mean)
    )

    answers, predictions = challenge("roc_auc", 2)
    result = grade(written(predictions), answers, "roc_auc", confidence=False, plots=False)
    assert result.public.baseline == 0.5


@pytest.mark.parametrize("metric", ["f1", "mcc", "roc_auc", "log_loss", "r2", "mae"])
def test_interval_contains_the_score_and_shrinks_with_more_rows(metric: str) -> None:
    widths = []
    for n in (300, 3000):
        answers, predictions = challenge(metric, 3, n=n)
        result = grade(written(predictions), answers, metric, plots=False, resamples=400)
        for split in (result.public, result.private):
            assert split is not None and split.ci_low is not None and split.ci_high is not None
            assert split.ci_low <= split.score <= split.ci_high
        widths.append(result.public.ci_high - result.public.ci_low)  # type: ignore[operator]
    assert widths[1] < widths[0]


def test_interval_is_reproducible_with_a_seed() -> None:
    answers, predictions = challenge("roc_auc", 4)
    first, again = (
        grade(written(predictions), answers, "roc_auc", plots=False, seed=9, resamples=200)
        for _ in range(2)
    )
    assert first.public == again.public


def test_confidence_off_leaves_no_interval() -> None:
    answers, predictions = challenge("f1", 4)
    result = grade(written(predictions), answers, "f1", confidence=False, plots=False)
    assert result.public.ci_low is None and result.public.ci_high is None


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("f1", {"confusion_matrix"}),
        ("roc_auc", {"confusion_matrix", "roc_curve", "precision_recall_curve"}),
        ("rmse", {"predicted_vs_actual", "residuals"}),
    ],
)
def test_plots_are_svg_without_scripts_and_deterministic(metric: str, expected: set[str]) -> None:
    answers, predictions = challenge(metric, 6, n=5000)
    result = grade(written(predictions), answers, metric, confidence=False)
    assert set(result.plots) == expected
    again = grade(written(predictions), answers, metric, confidence=False)
    assert again.plots == result.plots
    for svg in result.plots.values():
        root = ET.fromstring(svg)  # noqa: S314  (our own output)
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        tags = {element.tag.split("}")[1] for element in root.iter()}
        assert tags <= {"svg", "title", "rect", "text", "polyline", "g", "circle"}
        assert "script" not in svg.lower() and "on" + "load" not in svg.lower()


def test_labels_in_plots_are_escaped() -> None:
    answers = pd.DataFrame({"id": range(40), "y": ["<script>x</script>", "a&b"] * 20})
    predictions = written(answers)
    result = grade(predictions, answers, "accuracy", confidence=False)
    svg = result.plots["confusion_matrix"]
    ET.fromstring(svg)  # noqa: S314  (our own output)
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_to_json_is_serializable_and_keeps_svgs_out_by_default() -> None:
    answers, predictions = challenge("roc_auc", 7)
    result = grade(written(predictions), answers, "roc_auc", resamples=100)
    payload = json.loads(json.dumps(result.to_json()))
    assert payload["metric"] == "roc_auc" and "plots" not in payload
    assert payload["private_score"] == result.private.score  # type: ignore[union-attr]
    assert set(json.loads(json.dumps(result.to_json(plots=True)))["plots"]) == set(result.plots)


def test_unknown_metric_and_bad_parameters_are_errors() -> None:
    answers, predictions = challenge("f1", 0)
    with pytest.raises(UnknownMetric, match="valid metrics: accuracy"):
        grade(written(predictions), answers, "f2")
    with pytest.raises(GradingError, match="no parameter beta"):
        grade(written(predictions), answers, "f1", params={"beta": 2})


def test_answer_key_problems_are_grading_errors_not_candidate_errors() -> None:
    answers, predictions = challenge("f1", 0)
    duplicated = pd.concat([answers, answers.iloc[:1]])
    with pytest.raises(GradingError, match="repeated ids") as caught:
        grade(written(predictions), duplicated, "f1")
    assert type(caught.value) is GradingError
    with pytest.raises(GradingError, match="no target column 'label'"):
        Answers.from_table(answers, target_col="label")


def test_custom_metric_from_a_kit_is_registered_and_used(tmp_path: Path) -> None:
    (tmp_path / "metric.py").write_text(
        "import numpy as np\n\n"
        "def cost(y_true, y_pred, miss=5.0, false_alarm=1.0):\n"
        '    """Business cost of errors per row."""\n'
        "    misses = np.sum((y_true == 1) & (y_pred == 0))\n"
        "    alarms = np.sum((y_true == 0) & (y_pred == 1))\n"
        "    return (miss * misses + false_alarm * alarms) / len(y_true)\n"
    )
    metric = load_custom_metric(tmp_path, "metric.py:cost", higher_is_better=False)
    try:
        assert METRICS["cost"] is metric and metric.params == {"miss": 5.0, "false_alarm": 1.0}
        assert metric.description == "Business cost of errors per row."
        answers, predictions = challenge("f1", 8)
        result = grade(written(predictions), answers, "cost", params={"miss": 2.0})
        joined = answers.merge(predictions, on="row_id")
        public = joined[joined.split == "public"]
        y, p = public.target_x.to_numpy(), public.target_y.to_numpy()
        expected = (2.0 * np.sum((y == 1) & (p == 0)) + np.sum((y == 0) & (p == 1))) / len(y)
        assert result.public.score == pytest.approx(expected)
        assert result.public.ci_low is not None and not result.higher_is_better
    finally:
        METRICS.pop("cost", None)


def test_custom_metric_cannot_escape_the_kit_or_shadow_a_builtin(tmp_path: Path) -> None:
    (tmp_path / "f1.py").write_text("def f1(y_true, y_pred):\n    return 1.0\n")
    with pytest.raises(GradingError, match="not a file inside"):
        load_custom_metric(tmp_path / "kit", "../f1.py:f1")
    with pytest.raises(GradingError, match="would replace a built-in metric"):
        load_custom_metric(tmp_path, "f1.py:f1")
    with pytest.raises(GradingError, match="has no function 'g'"):
        load_custom_metric(tmp_path, "f1.py:g")


def test_a_key_without_public_rows_is_refused() -> None:
    answers, predictions = challenge("f1", 0)
    with pytest.raises(GradingError, match="no public rows"):
        grade(written(predictions), answers.assign(split="private"), "f1")
