"""The worker tests' challenge: 20 test ids (id0..id9 public, id10..id19 private) and a
FakeBackend handler that writes what a notebook would."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.models import Run, Submission
from heldout.platform.storage import Storage
from heldout.platform.worker.loop import Worker
from heldout.sandbox import FakeBackend, Limits, RunResult
from heldout.sandbox.result import Status

IDS = [f"id{n}" for n in range(20)]
LABELS = [n % 2 for n in range(20)]
SPLIT = ["public" if n < 10 else "private" for n in range(20)]


def writes(
    predictions: str | None, status: Status = "succeeded", **extra: Any
) -> Callable[[Path, Path, Path, Limits], RunResult]:
    def handler(notebook: Path, data_dir: Path, out_dir: Path, limits: Limits) -> RunResult:
        assert (data_dir / "test.csv").is_file()  # the sandbox inputs were unpacked
        assert not (data_dir / "answers.csv").exists()  # the answer key never goes in
        executed = out_dir / "executed.ipynb"
        executed.write_text("{}")
        path = None
        if predictions is not None:
            path = out_dir / "predictions.csv"
            path.write_text(predictions)
        return RunResult(
            status=status,
            reason=str(extra.pop("reason", "")),
            duration_s=1.5,
            executed_path=executed,
            predictions_path=path,
            image_digest="sha256:abc",
            notebook_sha256="n" * 64,
            **extra,
        )

    return handler


def run_once(config: Config, db: Database, storage: Storage, backend: FakeBackend) -> None:
    worker = Worker(config, db, storage, backend, concurrency=1, poll_s=0.01)
    worker.run(until_idle=True)


def load(db: Database, submission_id: int) -> Submission:
    with db.session() as session:
        sub = session.get(Submission, submission_id)
        assert sub is not None
        sub.runs  # noqa: B018  (load the runs while the session is open)
        return sub


def scored_runs(sub: Submission) -> list[Run]:
    return [run for run in sub.runs if run.purpose == "scored"]
