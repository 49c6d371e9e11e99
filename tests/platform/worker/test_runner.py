"""The worker's runner: sandbox outcome and grading become the submission's final state.

The sandbox is a FakeBackend here (this module's unit tests); the grader, the database
(SQLite and PostgreSQL) and the storage are real. The real Docker path is in tests/pipeline.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.models import Run, Submission
from heldout.platform.storage import Storage
from heldout.platform.worker import queue
from heldout.platform.worker.loop import Worker
from heldout.sandbox import FakeBackend, Limits, RunResult, SandboxError
from heldout.sandbox.result import Status
from tests.platform.worker.helpers import IDS, LABELS, SPLIT, load, run_once, scored_runs, writes


def test_perfect_predictions_are_scored_public_and_private(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    rows = "cid,y\n" + "".join(
        f"{i},{y}\n" for i, y in reversed(list(zip(IDS, LABELS, strict=True)))
    )
    run_once(config, db, storage, FakeBackend(writes(rows)))
    sub = load(db, submission_id)
    assert (sub.status, sub.public_score, sub.private_score) == ("scored", 1.0, 1.0)
    assert sub.grading is not None and sub.grading["metric"] == "accuracy"
    assert set(sub.grading["plots"]) and all(
        storage.exists(k) for k in sub.grading["plots"].values()
    )
    run: Run = sub.runs[0]
    assert (run.status, run.image_digest, run.duration_s) == ("succeeded", "sha256:abc", 1.5)
    assert run.executed_key and storage.exists(run.executed_key)


def test_half_right_public_rows_score_half(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    wrong_public = [
        1 - y if s == "public" and n % 2 else y
        for n, (y, s) in enumerate(zip(LABELS, SPLIT, strict=True))
    ]
    rows = "cid,y\n" + "".join(f"{i},{y}\n" for i, y in zip(IDS, wrong_public, strict=True))
    run_once(config, db, storage, FakeBackend(writes(rows)))
    sub = load(db, submission_id)
    assert (sub.public_score, sub.private_score) == (0.5, 1.0)


def test_notebook_error_names_cell_and_exception(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    failure = {"cell": 3, "ename": "KeyError", "evalue": "'price'", "traceback": "..."}
    run_once(
        config,
        db,
        storage,
        FakeBackend(
            writes(None, "failed", reason="Cell 3 raised KeyError: 'price'", failure=failure)
        ),
    )
    sub = load(db, submission_id)
    assert (sub.status, sub.failure) == ("failed", "notebook_error")
    assert sub.failure_detail is not None and sub.failure_detail["cell"] == 3
    assert "Restart & Run All" in sub.failure_detail["hint"]
    assert sub.counts_toward_limit


@pytest.mark.parametrize(
    ("status", "category"),
    [
        ("timed_out", "timeout"),
        ("out_of_memory", "out_of_memory"),
        ("rejected", "invalid_notebook"),
    ],
)
def test_sandbox_outcomes_map_to_failure_categories(
    config: Config,
    db: Database,
    storage: Storage,
    submission_id: int,
    status: Status,
    category: str,
) -> None:
    run_once(config, db, storage, FakeBackend(writes(None, status, reason="why")))
    sub = load(db, submission_id)
    assert (sub.status, sub.failure, sub.failure_message) == ("failed", category, "Why")


def test_missing_predictions_file_is_invalid_predictions(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    run_once(config, db, storage, FakeBackend(writes(None)))
    sub = load(db, submission_id)
    assert sub.failure == "invalid_predictions"
    assert "predictions.csv" in (sub.failure_message or "")


def test_bad_predictions_get_the_graders_message(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    run_once(config, db, storage, FakeBackend(writes("cid,y\nid0,1\n")))
    sub = load(db, submission_id)
    assert sub.failure == "invalid_predictions"
    assert "19" in (sub.failure_message or "")  # names how many ids are missing


def test_platform_error_is_retried_and_does_not_count(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    def engine_down(*_: object) -> RunResult:
        raise SandboxError("cannot reach the Docker engine")

    run_once(config, db, storage, FakeBackend(engine_down))
    sub = load(db, submission_id)
    assert (sub.status, sub.attempts, sub.failure) == ("queued", 1, None)
    assert sub.not_before is not None  # backoff before the retry
    assert sub.runs[0].status == "platform_error"
    # The engine is back: the retry succeeds once the backoff has passed.
    with db.session() as session:
        row = session.get(Submission, submission_id)
        assert row is not None
        row.not_before = None
    rows = "cid,y\n" + "".join(f"{i},{y}\n" for i, y in zip(IDS, LABELS, strict=True))
    run_once(config, db, storage, FakeBackend(writes(rows)))
    sub = load(db, submission_id)
    assert (sub.status, sub.attempts, len(scored_runs(sub))) == ("scored", 2, 2)


def test_platform_errors_past_max_attempts_fail_without_counting(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    def engine_down(*_: object) -> RunResult:
        raise SandboxError("engine down")

    for _ in range(int(config["HELDOUT_MAX_ATTEMPTS"])):
        with db.session() as session:
            row = session.get(Submission, submission_id)
            assert row is not None
            row.not_before = None
        run_once(config, db, storage, FakeBackend(engine_down))
    sub = load(db, submission_id)
    assert (sub.status, sub.failure) == ("failed", "platform_error")
    assert not sub.counts_toward_limit


def test_result_of_a_lost_lease_is_discarded(
    config: Config, db: Database, storage: Storage, submission_id: int
) -> None:
    """A worker whose lease was taken over records nothing: exactly-once scoring."""
    stolen: list[queue.Claim] = []

    def slow(notebook: Path, data_dir: Path, out_dir: Path, limits: Limits) -> RunResult:
        with db.session() as session:  # meanwhile the lease expires and another worker claims
            sub = session.get(Submission, submission_id)
            assert sub is not None
            sub.lease_expires_at = sub.created_at
        other = queue.claim(db, "other-worker", 60)
        assert other is not None
        stolen.append(other)
        return writes("cid,y\n" + "".join(f"{i},1\n" for i in IDS))(
            notebook, data_dir, out_dir, limits
        )

    run_once(config, db, storage, FakeBackend(slow))
    sub = load(db, submission_id)
    assert (sub.status, sub.lease_owner, sub.public_score) == ("running", "other-worker", None)


def test_worker_slots_survive_a_database_outage(config: Config, storage: Storage) -> None:
    """Claims fail while the database is down; the worker keeps polling instead of dying."""
    import threading
    import time

    from tests.services import free_port

    down = Database(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/x")
    worker = Worker(config, down, storage, FakeBackend(writes(None)), poll_s=0.05)
    thread = threading.Thread(target=worker.run)
    thread.start()
    time.sleep(1.0)
    assert thread.is_alive()  # still polling after many failed claims
    worker.stop()
    thread.join(timeout=30)
    assert not thread.is_alive() and worker.processed == 0
    down.dispose()


def test_the_worker_says_at_start_which_runtime_notebooks_get(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from types import SimpleNamespace

    from heldout.platform.worker.loop import _say_runtime

    with caplog.at_level(logging.INFO, logger="heldout.worker"):
        _say_runtime(SimpleNamespace(runtime="runsc"))
        _say_runtime(SimpleNamespace(runtime="runc"))
    assert "sandbox runtime: runsc (gVisor, a user-space kernel)" in caplog.text
    assert "sandbox runtime: runc (no second wall)" in caplog.text
