"""`heldout grade` and `heldout metrics` as real processes: the JSON contract and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from heldout.graders import METRICS
from tests.platform.test_cli import heldout


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(11)
    n = 400
    labels = pd.DataFrame(
        {
            "customer_id": rng.choice(10**6, n, replace=False),
            "churned": rng.integers(0, 2, n),
            "split": np.where(rng.random(n) < 0.5, "public", "private"),
        }
    )
    probability = np.round(np.clip(labels.churned * 0.3 + rng.random(n) * 0.7, 0, 1), 4)
    paths = {name: tmp_path / f"{name}.csv" for name in ("labels", "proba", "classes", "plain")}
    labels.to_csv(paths["labels"], index=False)
    labels.drop(columns="split").to_csv(paths["plain"], index=False)
    frame = pd.DataFrame({"customer_id": labels.customer_id, "churned": probability})
    frame.sample(frac=1, random_state=1).to_csv(paths["proba"], index=False)
    frame.assign(churned=(probability > 0.5).astype(int)).iloc[::-1].to_csv(
        paths["classes"], index=False
    )
    return paths


def joined(files: dict[str, Path], name: str) -> pd.DataFrame:
    labels = pd.read_csv(files["labels"])
    return labels.merge(pd.read_csv(files[name]), on="customer_id", suffixes=("", "_pred"))


def test_grade_json_contract_with_public_and_private(files: dict[str, Path]) -> None:
    result = heldout(
        "grade", str(files["proba"]), "--labels", str(files["labels"]),
        "--metric", "roc_auc", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    rows = joined(files, "proba")
    public, private = rows[rows.split == "public"], rows[rows.split == "private"]
    assert payload["metric"] == "roc_auc"
    assert payload["score"] == pytest.approx(roc_auc_score(public.churned, public.churned_pred))
    assert payload["private_score"] == pytest.approx(
        roc_auc_score(private.churned, private.churned_pred)
    )
    assert payload["public"]["n"] == len(public) and payload["public"]["ci_low"] is None


def test_grade_with_explicit_columns_and_no_split(files: dict[str, Path]) -> None:
    result = heldout(
        "grade", str(files["classes"]), "--labels", str(files["plain"]), "--metric", "f1",
        "--id", "customer_id", "--target", "churned", "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    rows = joined(files, "classes")
    assert payload["score"] == pytest.approx(f1_score(rows.churned, rows.churned_pred))
    assert payload["private"] is None and payload["public"]["n"] == len(rows)


def test_grade_with_intervals_and_plots_prints_a_human_line(
    files: dict[str, Path], tmp_path: Path
) -> None:
    result = heldout(
        "grade", str(files["proba"]), "--labels", str(files["labels"]), "--metric", "log_loss",
        "--ci", "--resamples", "200", "--plots", str(tmp_path / "plots"),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("log_loss (lower is better): public ")
    assert "95% CI" in result.stdout and "baseline" in result.stdout
    written = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert written == ["confusion_matrix.svg", "precision_recall_curve.svg", "roc_curve.svg"]


def test_invalid_predictions_exit_2_with_an_error_object(
    files: dict[str, Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.csv"
    broken.write_text(files["proba"].read_text().replace(",", ";"))
    result = heldout(
        "grade", str(broken), "--labels", str(files["labels"]), "--metric", "roc_auc", "--json"
    )
    assert result.returncode == 2
    payload = json.loads(result.stdout)
    assert set(payload) == {"error"}
    assert payload["error"].startswith("broken.csv is not a CSV file with the columns")
    assert "Traceback" not in result.stdout + result.stderr


def test_missing_ids_exit_2_naming_the_count(files: dict[str, Path], tmp_path: Path) -> None:
    short = tmp_path / "short.csv"
    short.write_text("\n".join(files["classes"].read_text().splitlines()[:-7]) + "\n")
    result = heldout(
        "grade", str(short), "--labels", str(files["labels"]), "--metric", "f1", "--json"
    )
    assert result.returncode == 2
    assert "is missing 7 of the 400 test ids" in json.loads(result.stdout)["error"]


def test_unknown_metric_exits_2_listing_the_valid_names(files: dict[str, Path]) -> None:
    result = heldout(
        "grade", str(files["proba"]), "--labels", str(files["labels"]), "--metric", "auc", "--json"
    )
    assert result.returncode == 2
    error = json.loads(result.stdout)["error"]
    assert error.startswith("unknown metric 'auc'")
    assert all(name in error for name in METRICS)


def test_invalid_predictions_without_json_is_one_line_on_stderr(files: dict[str, Path]) -> None:
    result = heldout(
        "grade", str(files["proba"]), "--labels", str(files["labels"]), "--metric", "f1"
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("error: proba.csv has ")
    assert "not probabilities" in result.stderr and len(result.stderr.splitlines()) == 1


def test_metrics_lists_every_metric_with_a_description() -> None:
    result = heldout("metrics")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert len(lines) == len(METRICS)
    for metric, line in zip(METRICS.values(), lines, strict=True):
        assert line.startswith(metric.name + " ") and line.endswith(metric.description)
    listed = json.loads(heldout("metrics", "--json").stdout)
    assert [m["name"] for m in listed] == list(METRICS)
    assert {m["needs"] for m in listed} == {"labels", "probabilities", "values"}
