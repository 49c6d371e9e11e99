"""A challenge whose metric is the admin's own function: built, stored, loaded by the worker."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from heldout.challenges import ChallengeError
from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.models import Challenge, Submission
from heldout.platform.services import challenges
from heldout.platform.storage import open_storage
from heldout.platform.worker.loop import Worker
from heldout.sandbox import FakeBackend, Limits, RunResult
from tests.factories import make_invitation, make_submission

EXAMPLE = Path(__file__).resolve().parents[3] / "challenges" / "examples" / "diabetes"
METRIC = '''
import numpy as np


def within(y_true, y_pred, tolerance=25.0):
    """Share of predictions within `tolerance` of the truth."""
    return float(np.mean(np.abs(np.asarray(y_true) - np.asarray(y_pred)) <= tolerance))
'''


def kit(tmp_path: Path, code: str = METRIC) -> Path:
    folder = tmp_path / "kit"
    shutil.copytree(EXAMPLE, folder)
    (folder / "metric.py").write_text(code)
    toml = (
        (folder / "challenge.toml")
        .read_text()
        .replace(
            'name = "rmse"',
            'name = "within_25"\ncustom = "metric.py:within"\nneeds = "values"',
        )
    )
    (folder / "challenge.toml").write_text(toml)
    return folder


def test_custom_metric_scores_submissions(config: Config, db: Database, tmp_path: Path) -> None:
    storage = open_storage(config)
    info = challenges.build(db, storage, kit(tmp_path))
    with db.session() as session:
        challenge = session.query(Challenge).filter_by(slug=info.slug).one()
        answer_key = challenge.versions[-1].answer_key
        invitation = make_invitation(session, challenge=challenge)
        submission_id = make_submission(session, invitation).id
        notebook_key = "submissions/custom.ipynb"
        session.get(Submission, submission_id).notebook_key = notebook_key  # type: ignore[union-attr]
    storage.put_bytes(notebook_key, b"{}")
    answers = pd.read_csv(storage.open(answer_key), dtype={"patient_id": str})
    public = answers[answers["split"] == "public"]
    # Off by 10 on every row: all within 25 except none, so the score is exactly 1.0;
    # off by 40 on the public rows' first half: that half is outside the tolerance.
    shift = pd.Series(10.0, index=answers.index)
    shift[public.index[: len(public) // 2]] = 40.0
    predictions = answers[["patient_id"]].assign(progression=answers["progression"] + shift)

    def handler(notebook: Path, data: Path, out: Path, limits: Limits) -> RunResult:
        (out / "predictions.csv").write_text(predictions.to_csv(index=False))
        return RunResult("succeeded", "", predictions_path=out / "predictions.csv")

    Worker(config, db, storage, FakeBackend(handler), poll_s=0.01).run(until_idle=True)
    with db.session() as session:
        sub = session.get(Submission, submission_id)
        assert sub is not None
        assert sub.status == "scored", sub.failure_message
        expected_public = 1 - (len(public) // 2) / len(public)
        assert sub.public_score == pytest.approx(expected_public)
        assert sub.private_score == pytest.approx(1.0)
        assert sub.grading is not None and sub.grading["metric"] == "within_25"


def test_a_broken_custom_metric_fails_the_build(
    config: Config, db: Database, tmp_path: Path
) -> None:
    with pytest.raises(ChallengeError, match=r"challenge.toml:\d+: .*no function 'within'"):
        challenges.build(db, open_storage(config), kit(tmp_path, "def other(): pass\n"))
