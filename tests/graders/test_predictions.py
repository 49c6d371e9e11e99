"""Every kind of bad predictions file gets its own clear message with the count and first rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heldout.graders import InvalidPredictions, grade

N = 50


@pytest.fixture
def answers() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {"customer_id": np.arange(N) * 10 + 100, "churned": rng.integers(0, 2, N)}
    ).assign(churned=lambda f: f.churned.where(f.index > 1, f.index))  # both classes present


def csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def good(answers: pd.DataFrame, probabilities: bool = False) -> pd.DataFrame:
    values = answers.churned * 0.6 + 0.2 if probabilities else answers.churned
    return pd.DataFrame({"customer_id": answers.customer_id, "churned": values})


def rejection(data: bytes, answers: pd.DataFrame, metric: str = "f1") -> InvalidPredictions:
    with pytest.raises(InvalidPredictions) as caught:
        grade(data, answers, metric, confidence=False, plots=False)
    message = str(caught.value)
    assert "Traceback" not in message and "\n" not in message
    return caught.value


def test_valid_file_in_any_row_order_is_accepted(answers: pd.DataFrame) -> None:
    shuffled = good(answers).sample(frac=1, random_state=3)
    assert grade(csv(shuffled), answers, "accuracy", confidence=False).public.score == 1.0


def test_empty_file(answers: pd.DataFrame) -> None:
    error = rejection(b"", answers)
    assert error.kind == "empty"
    assert str(error) == ("predictions.csv is empty: write a header line and one row per test id.")


def test_header_only(answers: pd.DataFrame) -> None:
    error = rejection(b"customer_id,churned\n", answers)
    assert error.kind == "header_only"
    assert f"has a header but no rows: expected {N} rows" in str(error)


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"PK\x03\x04\x14\x00\x00\x00", "it is a zip archive"),
        (b"PAR1\x00\x01", "it is a Parquet file"),
        (b"id,churned\n\xff\xfe\x00 latin-1 \xe9t\xe9,1\n", "not UTF-8 text"),
        (b"\x00\x01\x02 binary", "it holds binary data"),
        (b'{"customer_id": [1, 2], "churned": [0, 1]}', "it looks like JSON"),
        (b"<html><body>oops</body></html>", "it looks like HTML/XML"),
        (b"all predictions are 1\n", "its first line is 'all predictions are 1'."),
        (b"customer_id;churned\n100;1\n", "(separate the columns with commas)"),
    ],
)
def test_not_a_csv_at_all(answers: pd.DataFrame, data: bytes, what: str) -> None:
    error = rejection(data, answers)
    assert error.kind == "not_csv"
    assert "is not a CSV file" in str(error) and what in str(error)


def test_malformed_csv_names_the_row(answers: pd.DataFrame) -> None:
    data = b"customer_id,churned\n100,1\n110,0,7\n"
    error = rejection(data, answers)
    assert error.kind == "malformed"
    assert "Expected 2 columns, got 3: 110,0,7" in str(error)


def test_missing_id_column(answers: pd.DataFrame) -> None:
    data = csv(good(answers).rename(columns={"customer_id": "id"}))
    error = rejection(data, answers)
    assert error.kind == "missing_id_column"
    assert "has no 'customer_id' column (found 'id', 'churned')" in str(error)


def test_wrong_target_column_suggests_the_rename(answers: pd.DataFrame) -> None:
    data = csv(good(answers).rename(columns={"churned": "prediction"}))
    error = rejection(data, answers)
    assert error.kind == "missing_target_column"
    assert "rename 'prediction' to 'churned'" in str(error)


def test_missing_target_column(answers: pd.DataFrame) -> None:
    error = rejection(csv(good(answers)[["customer_id"]]), answers)
    assert error.kind == "missing_target_column"
    assert "has no 'churned' column (found 'customer_id')" in str(error)


def test_missing_ids_are_counted_and_named(answers: pd.DataFrame) -> None:
    error = rejection(csv(good(answers).iloc[3:]), answers)
    assert error.kind == "missing_ids" and error.count == 3
    assert f"is missing 3 of the {N} test ids, for example: 100, 110, 120" in str(error)


def test_duplicate_ids_name_their_lines(answers: pd.DataFrame) -> None:
    frame = good(answers)
    data = csv(pd.concat([frame, frame.iloc[[4, 4, 7]]]))
    error = rejection(data, answers)
    assert error.kind == "duplicate_ids" and error.count == 2
    assert f"140 (lines 6, {N + 2}, {N + 3}); 170 (lines 9, {N + 4})" in str(error)


def test_unknown_ids_name_their_lines(answers: pd.DataFrame) -> None:
    frame = good(answers)
    frame.loc[[5, 9], "customer_id"] = [99999, 12345]
    error = rejection(csv(frame), answers)
    assert error.kind == "unknown_ids" and error.count == 2
    assert "2 id(s) that are not test ids, for example line 7: 99999; line 11: 12345" in str(error)


def test_rows_without_an_id(answers: pd.DataFrame) -> None:
    frame = good(answers).astype({"customer_id": object})
    frame.loc[2, "customer_id"] = ""
    error = rejection(csv(frame), answers)
    assert error.kind == "empty_ids" and "1 row(s) without an id, for example line 4" in str(error)


def test_non_numeric_values(answers: pd.DataFrame) -> None:
    frame = good(answers).astype({"churned": object})
    frame.loc[[1, 8], "churned"] = ["yes", "0,5"]
    error = rejection(csv(frame), answers)
    assert error.kind == "not_numeric" and error.count == 2
    assert "not numbers, for example line 3: 'yes'; line 10: '0,5'" in str(error)


@pytest.mark.parametrize("blank", ["", "NaN", "nan", "inf"])
def test_empty_or_nan_values(answers: pd.DataFrame, blank: str) -> None:
    frame = good(answers, probabilities=True).astype({"churned": object})
    frame.loc[6, "churned"] = blank
    error = rejection(csv(frame), answers, "roc_auc")
    assert error.kind == "empty_values" and error.count == 1
    assert "1 empty, NaN or infinite value(s) in 'churned', for example line 8" in str(error)


def test_probabilities_outside_zero_one(answers: pd.DataFrame) -> None:
    frame = good(answers, probabilities=True)
    frame.loc[[0, 3, 4], "churned"] = [1.5, -0.1, 7.0]
    error = rejection(csv(frame), answers, "log_loss")
    assert error.kind == "probability_range" and error.count == 3
    assert "outside [0, 1]" in str(error) and "line 2: 1.5; line 5: -0.1; line 6: 7" in str(error)


def test_labels_outside_the_known_classes(answers: pd.DataFrame) -> None:
    frame = good(answers)
    frame.loc[[2, 3], "churned"] = [2, -1]
    error = rejection(csv(frame), answers)
    assert error.kind == "unknown_labels" and error.count == 2
    assert "the classes are 0, 1, for example line 4: 2; line 5: -1" in str(error)


def test_probabilities_given_to_a_label_metric_get_a_hint(answers: pd.DataFrame) -> None:
    error = rejection(csv(good(answers, probabilities=True)), answers, "f1")
    assert error.kind == "unknown_labels"
    assert "needs predicted classes, not probabilities" in str(error)


def test_string_labels_outside_the_classes(answers: pd.DataFrame) -> None:
    named = answers.assign(churned=answers.churned.map({0: "stay", 1: "leave"}))
    frame = good(named)
    frame.loc[0, "churned"] = "maybe"
    error = rejection(csv(frame), named, "accuracy")
    assert error.kind == "unknown_labels"
    assert "the classes are 'leave', 'stay', for example line 2: 'maybe'" in str(error)


def test_rmsle_rejects_predictions_at_or_below_minus_one(answers: pd.DataFrame) -> None:
    frame = good(answers).astype({"churned": float})
    frame.loc[1, "churned"] = -1.0
    error = rejection(csv(frame), answers, "rmsle")
    assert error.kind == "value_range" and "for ids 110" in str(error)


def test_missing_file_is_a_clear_message(answers: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(InvalidPredictions, match="cannot open the predictions file"):
        grade(tmp_path / "nope.csv", answers, "f1")
