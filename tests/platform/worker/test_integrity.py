"""Run integrity: whose fault a grading failure is, every path ends, and what the candidate sees.

FakeBackend runs the "notebook"; the grader, the database (SQLite and PostgreSQL) and the
storage are real. The handler tells the scored run (20 test rows) from the candidate run (the
bundle's 10 public rows) by the data it is given, as a real notebook would.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.models import Submission
from heldout.platform.services import submissions
from heldout.platform.storage import Storage
from heldout.platform.worker import queue
from heldout.platform.worker.job import Context
from heldout.platform.worker.runner import execute
from heldout.sandbox import FakeBackend, Limits, RunResult
from tests.platform.worker.helpers import IDS, LABELS, SPLIT, load, run_once, scored_runs, writes

Handler = Callable[[Path, Path, Path, Limits], RunResult]
PERFECT = "cid,y\n" + "".join(f"{i},{y}\n" for i, y in zip(IDS, LABELS, strict=True))
PRIVATE_ID = re.compile(r"id1[0-9]")
MARKER = "PRIVATE-ROW-MARKER"


def set_spec(db: Database, submission_id: int, metric: dict[str, Any], name: str) -> None:
    with db.session() as session:
        sub = session.get(Submission, submission_id)
        assert sub is not None
        sub.version.spec = {**sub.version.spec, "metric": metric}
        sub.version.metric = name


def put_answers(storage: Storage, labels: list[int], split: list[str]) -> None:
    answers = pd.DataFrame({"cid": IDS, "y": labels, "split": split})
    storage.put_bytes("c/1/answers.csv", answers.to_csv(index=False).encode())


def candidate_json(db: Database, submission_id: int) -> str:
    with db.session() as session:
        sub = session.get(Submission, submission_id)
        assert sub is not None
        return json.dumps(submissions.public_view(sub))


def is_scored_run(data_dir: Path) -> bool:
    return len((data_dir / "test.csv").read_text().splitlines()) == len(IDS) + 1


# ---------------------------------------------------------------- whose fault it is


def assert_challenge_error(db: Database, submission_id: int, reason: str) -> Submission:
    sub = load(db, submission_id)
    assert (sub.status, sub.failure, sub.attempts) == ("failed", "challenge_error", 1)
    assert not sub.counts_toward_limit
    assert len(scored_runs(sub)) == 1  # not retried
    assert sub.failure_detail is not None and reason in sub.failure_detail["error"]
    view = sub.candidate_view or {}
    assert view["failure"]["category"] == "challenge_error"
    assert "challenge itself" in view["failure"]["message"]
    assert reason not in json.dumps(view)  # the admin's reason stays with the admins
    return sub


def test_custom_metric_that_raises_is_a_challenge_error_not_counted(
    config: Config,
    db: Database,
    storage: Storage,
    submission_id: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    storage.put_bytes(
        "c/1/metric.py", b"def boom(y_true, y_pred):\n    raise RuntimeError('kaput')\n"
    )
    set_spec(
        db,
        submission_id,
        {"name": "boom", "custom": "metric.py:boom", "custom_key": "c/1/metric.py"},
        "boom",
    )
    with caplog.at_level(logging.ERROR, logger="heldout.worker"):
        run_once(config, db, storage, FakeBackend(writes(PERFECT)))
    assert_challenge_error(db, submission_id, "kaput")
    assert any("challenge error" in r.message and "kaput" in r.message for r in caplog.records)


def test_custom_metric_that_fails_to_load_is_a_challenge_error(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    storage.put_bytes("c/1/metric.py", b"def broken(:\n")
    set_spec(
        db,
        submission_id,
        {"name": "broken", "custom": "metric.py:broken", "custom_key": "c/1/metric.py"},
        "broken",
    )
    run_once(config, db, storage, FakeBackend(writes(PERFECT)))
    assert_challenge_error(db, submission_id, "failed to load")


def test_a_custom_metric_file_name_with_a_path_is_a_challenge_error_and_writes_nothing(
    config: Config, db: Database, storage: Storage, submission_id: int, tmp_path: Path
) -> None:
    storage.put_bytes("c/1/metric.py", b"def score(y, p):\n    return 1.0\n")
    set_spec(
        db,
        submission_id,
        {"name": "evil", "custom": "../../evil.py:score", "custom_key": "c/1/metric.py"},
        "evil",
    )
    run_once(config, db, storage, FakeBackend(writes(PERFECT)))
    assert_challenge_error(db, submission_id, "not a bare file name")
    assert not list(config.home.rglob("evil.py"))


def test_adjusted_balanced_accuracy_on_one_class_public_rows_is_a_challenge_error(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    labels = [0 if s == "public" else n % 2 for n, s in enumerate(SPLIT)]
    put_answers(storage, labels, SPLIT)
    set_spec(
        db,
        submission_id,
        {"name": "balanced_accuracy", "params": {"adjusted": True}},
        "balanced_accuracy",
    )
    rows = "cid,y\n" + "".join(f"{i},{y}\n" for i, y in zip(IDS, labels, strict=True))
    run_once(config, db, storage, FakeBackend(writes(rows)))
    assert_challenge_error(db, submission_id, "ZeroDivisionError")


def test_answer_key_without_public_rows_is_a_challenge_error(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    put_answers(storage, LABELS, ["private"] * len(IDS))
    run_once(config, db, storage, FakeBackend(writes(PERFECT)))
    assert_challenge_error(db, submission_id, "no public rows")


def test_invalid_predictions_are_the_candidates_counted_failure(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    run_once(config, db, storage, FakeBackend(writes("cid,y\nid0,1\n")))
    sub = load(db, submission_id)
    assert (sub.status, sub.failure) == ("failed", "invalid_predictions")
    assert sub.counts_toward_limit
    assert sub.attempts == 1 and len(scored_runs(sub)) == 1
    assert "missing 19 of the 20 test ids" in (sub.failure_message or "")
    assert sub.candidate_view is not None
    assert "missing 19 of the 20" in sub.candidate_view["failure"]["message"]


# ---------------------------------------------------------------- every path ends


def clear_backoff(db: Database, submission_id: int) -> None:
    with db.session() as session:
        row = session.get(Submission, submission_id)
        assert row is not None
        row.not_before = None


def test_unexpected_backend_exception_ends_failed_after_exactly_max_attempts(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    calls: list[int] = []

    def crashes(*_: object) -> RunResult:
        calls.append(1)
        raise RuntimeError("a bug nobody expected")

    cap = int(config["HELDOUT_MAX_ATTEMPTS"])
    for _ in range(cap + 2):  # more chances than the cap: the last ones find nothing to claim
        clear_backoff(db, submission_id)
        run_once(config, db, storage, FakeBackend(crashes))
    sub = load(db, submission_id)
    assert (sub.status, sub.failure, sub.attempts) == ("failed", "platform_error", cap)
    assert not sub.counts_toward_limit
    assert len(calls) == cap and len(scored_runs(sub)) == cap
    assert all(
        r.status == "platform_error" and "RuntimeError" in (r.reason or "") for r in sub.runs
    )
    assert sub.failure_detail is not None
    assert f"gave up after {cap} attempts" in sub.failure_detail["error"]


def test_claim_past_the_attempt_cap_fails_at_once_without_running(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    """A worker that crashed mid-run every time leaves an expired lease; the cap still holds."""
    cap = int(config["HELDOUT_MAX_ATTEMPTS"])
    with db.session() as session:
        row = session.get(Submission, submission_id)
        assert row is not None
        row.status, row.attempts, row.lease_owner = "running", cap, "dead-worker"
        row.lease_expires_at = row.created_at  # long expired
    calls: list[int] = []

    def never(*_: object) -> RunResult:
        calls.append(1)
        raise AssertionError("must not run")

    run_once(config, db, storage, FakeBackend(never))
    sub = load(db, submission_id)
    assert (sub.status, sub.failure, sub.attempts) == ("failed", "platform_error", cap + 1)
    assert sub.failure_detail is not None
    assert sub.failure_detail["error"].startswith(f"gave up after {cap} attempts")
    assert calls == [] and sub.runs == []


def test_exception_while_recording_ends_the_attempt_with_a_record(
    config: Config,
    db: Database,
    storage: Storage,
    submission_id: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken_put(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(storage, "put_file", broken_put)
    run_once(config, db, storage, FakeBackend(writes(PERFECT)))
    sub = load(db, submission_id)
    assert (sub.status, sub.attempts, sub.failure) == ("queued", 1, None)
    assert sub.not_before is not None  # retried with backoff
    assert {r.status for r in sub.runs} == {"platform_error"}
    assert all("disk on fire" in (r.reason or "") for r in sub.runs)


# ---------------------------------------------------------------- what the candidate sees


def test_wrong_private_predictions_show_no_private_id_to_the_candidate(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    rows = "cid,y\n" + "".join(
        f"{i},{y}\n" for i, y in zip(IDS, LABELS, strict=True) if i not in ("id13", "id17")
    )
    run_once(config, db, storage, FakeBackend(writes(rows)))
    sub = load(db, submission_id)
    assert sub.failure == "invalid_predictions"
    assert "id13" in (sub.failure_message or "")  # reviewers see the example
    shown = candidate_json(db, submission_id)
    assert not PRIVATE_ID.search(shown), shown
    assert "missing 2 of the 20 test ids" in shown


def test_scored_runs_traceback_never_reaches_the_candidate(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    """The notebook fails only on the hidden rows; the candidate learns cell and type only."""

    def handler(notebook: Path, data_dir: Path, out_dir: Path, limits: Limits) -> RunResult:
        if is_scored_run(data_dir):
            (out_dir / "executed.ipynb").write_text(json.dumps({"leak": MARKER}))
            failure = {
                "cell": 5,
                "ename": "KeyError",
                "evalue": f"'{MARKER}'",
                "traceback": [f"KeyError: '{MARKER}'"],
            }
            return RunResult(
                "failed",
                f"Cell 5 raised KeyError: '{MARKER}'",
                executed_path=out_dir / "executed.ipynb",
                failure=failure,
            )
        return writes(PERFECT)(notebook, data_dir, out_dir, limits)

    run_once(config, db, storage, FakeBackend(handler))
    sub = load(db, submission_id)
    assert (sub.status, sub.failure) == ("failed", "notebook_error")
    assert MARKER in (sub.failure_message or "")  # reviewers keep the scored run's details
    shown = candidate_json(db, submission_id)
    assert MARKER not in shown
    failure = json.loads(shown)["failure"]
    assert (failure["cell"], failure["ename"], failure["traceback"]) == (5, "KeyError", None)
    assert (
        "On the test rows you have, your notebook ran; it failed on the hidden test rows in "
        "cell 5 with a KeyError."
    ) in failure["message"]
    key = submissions.executed_key(db, sub.invitation_id, submission_id)
    assert MARKER not in storage.read_bytes(key).decode()
    candidate = [r for r in sub.runs if r.purpose == "candidate"]
    assert len(candidate) == 1 and candidate[0].executed_key == key
    assert scored_runs(sub)[0].executed_key != key


def test_a_custom_exception_name_is_not_shown_from_the_scored_run(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    failure = {"cell": 2, "ename": MARKER, "evalue": "x", "traceback": ["x"]}

    def handler(notebook: Path, data_dir: Path, out_dir: Path, limits: Limits) -> RunResult:
        if is_scored_run(data_dir):
            return RunResult("failed", "Cell 2 raised", failure=failure)
        return writes(PERFECT)(notebook, data_dir, out_dir, limits)

    run_once(config, db, storage, FakeBackend(handler))
    shown = candidate_json(db, submission_id)
    assert MARKER not in shown
    assert json.loads(shown)["failure"]["ename"] is None


def test_same_failure_on_the_candidates_rows_shows_its_own_traceback(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    def handler(notebook: Path, data_dir: Path, out_dir: Path, limits: Limits) -> RunResult:
        value = MARKER if is_scored_run(data_dir) else "'price'"
        failure = {"cell": 3, "ename": "KeyError", "evalue": value, "traceback": [value]}
        return RunResult("failed", f"Cell 3 raised KeyError: {value}", failure=failure)

    run_once(config, db, storage, FakeBackend(handler))
    failure = json.loads(candidate_json(db, submission_id))["failure"]
    assert (failure["evalue"], failure["traceback"]) == ("'price'", ["'price'"])
    assert "On the test rows you have" not in failure["message"]


def test_candidate_run_uses_the_bundles_data(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    seen: list[tuple[str, list[str]]] = []

    def handler(notebook: Path, data_dir: Path, out_dir: Path, limits: Limits) -> RunResult:
        seen.append(((data_dir / "test.csv").read_text(), sorted(os.listdir(data_dir))))
        return writes(PERFECT)(notebook, data_dir, out_dir, limits)

    run_once(config, db, storage, FakeBackend(handler))
    (scored_test, _), (candidate_test, candidate_files) = seen
    assert len(scored_test.splitlines()) == 21
    assert candidate_test == "cid,x\n" + "".join(f"{i},{n}\n" for n, i in enumerate(IDS[:10]))
    assert candidate_files == ["test.csv", "train.csv"]  # not the brief, never the answers
    sub = load(db, submission_id)
    assert (sub.status, sub.public_score) == ("scored", 1.0)  # the score is the scored run's
    (candidate,) = [r for r in sub.runs if r.purpose == "candidate"]
    bundle = hashlib.sha256(storage.read_bytes("c/1/bundle.zip")).hexdigest()
    assert (candidate.status, candidate.data_sha256) == ("succeeded", bundle)
    assert sub.candidate_view is not None
    assert sub.candidate_view["executed_key"] == candidate.executed_key


def test_candidate_runs_failure_never_changes_the_score(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    def handler(notebook: Path, data_dir: Path, out_dir: Path, limits: Limits) -> RunResult:
        if is_scored_run(data_dir):
            return writes(PERFECT)(notebook, data_dir, out_dir, limits)
        raise RuntimeError("the candidate run's engine hiccup")

    run_once(config, db, storage, FakeBackend(handler))
    sub = load(db, submission_id)
    assert (sub.status, sub.public_score, sub.attempts) == ("scored", 1.0, 1)
    (candidate,) = [r for r in sub.runs if r.purpose == "candidate"]
    assert candidate.status == "platform_error"
    assert sub.candidate_view == {"failure": None, "executed_key": None, "run_time_s": 1.5}


@pytest.mark.parametrize(("mode", "runs_when_scored", "runs_when_failed"), [
    ("always", 2, 2), ("failed", 1, 2), ("never", 1, 1),
])  # fmt: skip
def test_candidate_run_setting_decides_when_it_runs(
    env: dict[str, str],
    db: Database,
    storage: Storage,
    submission_id: int,
    mode: str,
    runs_when_scored: int,
    runs_when_failed: int,
) -> None:
    config = Config.from_env({**env, "HELDOUT_CANDIDATE_RUN": mode})
    run_once(config, db, storage, FakeBackend(writes(PERFECT)))
    assert len(load(db, submission_id).runs) == runs_when_scored
    queue.regrade(db, submission_id)
    bad = FakeBackend(writes(None, "failed", reason="boom", failure={"cell": 1}))
    run_once(config, db, storage, bad)
    sub = load(db, submission_id)
    assert sub.status == "failed"
    assert len(sub.runs) - runs_when_scored == runs_when_failed


def test_timed_out_run_gets_no_candidate_run(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    run_once(config, db, storage, FakeBackend(writes(None, "timed_out", reason="too slow")))
    sub = load(db, submission_id)
    assert (sub.failure, len(sub.runs)) == ("timeout", 1)
    assert sub.candidate_view is not None and sub.candidate_view["executed_key"] is None


def test_execute_returns_a_status_for_a_vanished_submission(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    claim = queue.claim(db, "w", 60)
    assert claim is not None
    with db.session() as session:
        row = session.get(Submission, submission_id)
        assert row is not None
        session.delete(row)
    ctx = Context(config, db, storage, FakeBackend(writes(PERFECT)), "w", config.home, 60, 5)
    assert execute(ctx, claim) == "requeued"  # recorded as a platform error, not raised
