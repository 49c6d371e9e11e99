"""The bundle's self-check: sample_submission.csv and check_predictions.py say what the grader
would say, on the public rows, with the standard library only."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from heldout.challenges import BuildOutput, build, load_spec
from heldout.challenges.selfcheck import script
from heldout.graders import InvalidPredictions, grade
from tests.challenges.conftest import Kit, read_member
from tests.graders.test_predictions import N, csv, good


def run_checker(folder: Path, predictions: bytes) -> dict[str, object]:
    """Run the script as a candidate would, in isolated mode without site-packages (-I -S)."""
    (folder / "predictions.csv").write_bytes(predictions)
    done = subprocess.run(
        [sys.executable, "-I", "-S", "check_predictions.py", "predictions.csv", "--json"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.stderr == "", done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    assert done.returncode == (0 if result["ok"] else 1)
    return result


@pytest.fixture
def built(kit: Kit, tmp_path: Path) -> BuildOutput:
    return build(load_spec(kit()), "secret-1", tmp_path / "out")


@pytest.fixture
def unpacked(built: BuildOutput, tmp_path: Path) -> Path:
    folder = tmp_path / "bundle"
    with zipfile.ZipFile(built.bundle_zip) as archive:
        archive.extractall(folder)
    return folder


def test_sample_submission_has_every_public_id_and_a_valid_constant(
    built: BuildOutput, unpacked: Path
) -> None:
    sample = read_member(built.bundle_zip, "sample_submission.csv")
    test = read_member(built.bundle_zip, "data/test.csv")
    assert list(sample.columns) == ["customer_id", "churned"]
    assert sample.customer_id.tolist() == test.customer_id.tolist()
    assert sample.churned.nunique() == 1 and sample.churned.iloc[0] in {"0", "1"}
    assert run_checker(unpacked, (unpacked / "sample_submission.csv").read_bytes())["ok"] is True


def test_the_bundles_checker_names_a_missing_public_id(unpacked: Path) -> None:
    lines = (unpacked / "sample_submission.csv").read_bytes().splitlines(keepends=True)
    result = run_checker(unpacked, b"".join(lines[:1] + lines[2:]))
    assert result["kind"] == "missing_ids"
    assert "Predict every row of test.csv" in str(result["message"])


# The grader's own bad files (tests/graders/test_predictions.py): (name, metric, bytes).
def _cases(answers: pd.DataFrame) -> list[tuple[str, str, bytes]]:
    frame = good(answers)
    unknown = frame.copy()
    unknown.loc[[5, 9], "customer_id"] = [99999, 12345]
    no_id = frame.astype({"customer_id": object})
    no_id.loc[2, "customer_id"] = ""
    words = frame.astype({"churned": object})
    words.loc[[1, 8], "churned"] = ["yes", "0,5"]
    blank = good(answers, probabilities=True).astype({"churned": object})
    blank.loc[6, "churned"] = ""
    wide = good(answers, probabilities=True)
    wide.loc[[0, 3, 4], "churned"] = [1.5, -0.1, 7.0]
    classes = frame.copy()
    classes.loc[[2, 3], "churned"] = [2, -1]
    low = frame.astype({"churned": float})
    low.loc[1, "churned"] = -1.0
    return [
        ("empty", "f1", b""),
        ("header_only", "f1", b"customer_id,churned\n"),
        ("zip", "f1", b"PK\x03\x04\x14\x00\x00\x00"),
        ("parquet", "f1", b"PAR1\x00\x01"),
        ("latin-1", "f1", b"id,churned\n\xff\xfe\x00 latin-1 \xe9t\xe9,1\n"),
        ("binary", "f1", b"\x00\x01\x02 binary"),
        ("json", "f1", b'{"customer_id": [1, 2], "churned": [0, 1]}'),
        ("html", "f1", b"<html><body>oops</body></html>"),
        ("one line", "f1", b"all predictions are 1\n"),
        ("semicolons", "f1", b"customer_id;churned\n100;1\n"),
        ("malformed", "f1", b"customer_id,churned\n100,1\n110,0,7\n"),
        ("no id column", "f1", csv(frame.rename(columns={"customer_id": "id"}))),
        ("renamed target", "f1", csv(frame.rename(columns={"churned": "prediction"}))),
        ("no target", "f1", csv(frame[["customer_id"]])),
        ("missing ids", "f1", csv(frame.iloc[3:])),
        ("duplicates", "f1", csv(pd.concat([frame, frame.iloc[[4, 4, 7]]]))),
        ("unknown ids", "f1", csv(unknown)),
        ("empty id", "f1", csv(no_id)),
        ("not numbers", "f1", csv(words)),
        ("empty value", "roc_auc", csv(blank)),
        ("outside [0, 1]", "log_loss", csv(wide)),
        ("unknown labels", "f1", csv(classes)),
        ("probabilities for labels", "f1", csv(good(answers, probabilities=True))),
        ("rmsle below -1", "rmsle", csv(low)),
    ]


ANSWERS = pd.DataFrame(
    {
        "customer_id": np.arange(N) * 10 + 100,
        "churned": np.random.default_rng(0).integers(0, 2, N),
    }
).assign(churned=lambda f: f.churned.where(f.index > 1, f.index))
CASES = _cases(ANSWERS)
NEEDS = {"f1": "labels", "roc_auc": "probabilities", "log_loss": "probabilities", "rmsle": "values"}


@pytest.mark.parametrize(("case", "metric", "data"), CASES, ids=[c[0] for c in CASES])
def test_checker_gives_the_graders_message_for_each_bad_file(
    tmp_path: Path, case: str, metric: str, data: bytes
) -> None:
    with pytest.raises(InvalidPredictions) as caught:
        grade(data, ANSWERS, metric, confidence=False, plots=False)
    (tmp_path / "data").mkdir()
    ANSWERS[["customer_id"]].to_csv(tmp_path / "data" / "test.csv", index=False)
    config = {
        "id": "customer_id",
        "target": "churned",
        "needs": NEEDS[metric],
        "metric": metric,
        "classes": [0, 1],
        "numeric": True,
        "int_ids": True,  # these answers hold whole-number ids, so the grader reads numbers
    }
    (tmp_path / "check_predictions.py").write_bytes(script(config))
    result = run_checker(tmp_path, data)
    assert result["kind"] == caught.value.kind
    if caught.value.kind != "malformed":  # Arrow's parse message is its own
        assert result["message"] == caught.value.public
