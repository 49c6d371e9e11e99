"""Run one claimed submission: sandbox, grade, store, record — or hand it back to retry."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.errors import HeldoutError, NotFound, StorageUnavailable
from heldout.platform.models import Run, Submission, utcnow
from heldout.platform.storage import Storage
from heldout.platform.worker import queue
from heldout.platform.worker.outcome import Outcome, from_grading_error, from_result

log = logging.getLogger("heldout.worker")

MAX_LOG_CHARS = 100_000


@dataclass
class Context:
    """What every run needs, shared by a worker's threads."""

    config: Config
    db: Database
    storage: Storage
    backend: Any  # heldout.sandbox.Backend
    worker: str
    cache: Path
    lease_s: int
    max_attempts: int
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())


@dataclass(frozen=True)
class Job:
    """The immutable facts about a claimed submission, read once."""

    submission_id: int
    notebook_key: str
    version_id: int
    sandbox_key: str
    answer_key: str
    data_sha256: str
    metric: str
    spec: dict[str, Any]


def load_job(ctx: Context, claim: queue.Claim) -> Job:
    with ctx.db.session() as session:
        sub = session.get(Submission, claim.submission_id)
        if sub is None:
            raise NotFound(f"submission {claim.submission_id} vanished")
        v = sub.version
        return Job(
            sub.id,
            sub.notebook_key,
            v.id,
            v.sandbox_key,
            v.answer_key,
            v.data_sha256,
            v.metric,
            v.spec,
        )


def sandbox_inputs(ctx: Context, job: Job) -> Path:
    """The challenge's sandbox inputs, unpacked once per data hash and shared read-only."""
    target = ctx.cache / "data" / job.data_sha256
    with ctx.lock(target.name):
        if target.is_dir():
            return target
        staging = Path(tempfile.mkdtemp(dir=ctx.cache, prefix=".data-"))
        archive_path = staging.with_suffix(".zip")  # beside, so no member can overwrite it
        try:
            ctx.storage.get_file(job.sandbox_key, archive_path)  # streamed, never all in memory
            with zipfile.ZipFile(archive_path) as archive:
                for member in archive.infolist():
                    name = Path(member.filename).name  # admin-built, but never trust paths
                    if member.is_dir() or not name:
                        continue
                    with archive.open(member) as src, (staging / name).open("wb") as dst:
                        shutil.copyfileobj(src, dst)
            target.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(target)
        finally:
            archive_path.unlink(missing_ok=True)
            shutil.rmtree(staging, ignore_errors=True)
    return target


def answers(ctx: Context, job: Job) -> Any:
    """The answer key as a DataFrame; it is read here and never enters a container."""
    import pandas as pd

    with ctx.storage.open(job.answer_key) as stream:
        return pd.read_csv(stream, dtype={job.spec["data"]["id"]: str})


def limits_for(job: Job) -> Any:
    from heldout.sandbox import Limits

    spec = job.spec.get("limits") or {}
    return Limits(
        timeout_s=float(spec.get("timeout_s", 600)),
        memory_mb=int(spec.get("memory_mb", 2048)),
        cpus=float(spec.get("cpus", 1)),
    )


def execute(ctx: Context, claim: queue.Claim) -> str:
    """Process one claim to its end; returns the final status (or 'requeued'/'lost')."""
    from heldout.sandbox import SandboxError

    run_id: int | None = None
    workdir = Path(tempfile.mkdtemp(prefix="heldout-run-"))
    try:
        job = load_job(ctx, claim)
        with ctx.db.session() as session:
            run = Run(
                submission_id=job.submission_id,
                attempt=claim.attempt,
                worker=ctx.worker,
                started_at=utcnow(),
                notebook_sha256=None,
                data_sha256=job.data_sha256,
            )
            session.add(run)
            session.flush()
            run_id = run.id
        phases: dict[str, float] = {}
        clock = time.monotonic()

        def lap(name: str) -> None:
            nonlocal clock
            now = time.monotonic()
            phases[name] = round(now - clock, 4)
            clock = now

        notebook = workdir / "solution.ipynb"
        ctx.storage.get_file(job.notebook_key, notebook)
        data_dir = sandbox_inputs(ctx, job)
        out_dir = workdir / "out"
        out_dir.mkdir()
        lap("prepare_s")
        result = ctx.backend.run(
            notebook=notebook,
            data_dir=data_dir,
            out_dir=out_dir,
            limits=limits_for(job),
            labels={"heldout.submission": str(job.submission_id), "heldout.worker": ctx.worker},
        )
        lap("sandbox_s")
        outcome = from_result(result)
        if outcome.status == "scored":
            outcome = grade(ctx, job, result)
        lap("grade_s")
        return record(ctx, claim, job, run_id, result, outcome, phases)
    except (SandboxError, StorageUnavailable, HeldoutError, OSError) as exc:
        return retry(ctx, claim, run_id, exc)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def grade(ctx: Context, job: Job, result: Any) -> Outcome:
    from heldout.graders import GradingError, grade

    data = job.spec["data"]
    metric = job.spec.get("metric") or {}
    try:
        scorer = metric_for(ctx, job)
    except GradingError as exc:  # the admin's code, not the candidate's: retried, then failed
        raise HeldoutError(f"the challenge's custom metric could not be loaded: {exc}") from None
    try:
        grading = grade(
            predictions=Path(result.predictions_path),
            answers=answers(ctx, job),
            metric=scorer,
            params=metric.get("params") or None,
            id_col=data["id"],
            target_col=data["target"],
        )
    except GradingError as exc:
        return from_grading_error(exc)
    summary = grading.to_json()
    return Outcome(
        "scored",
        None,
        None,
        None,
        public_score=grading.public.score,
        private_score=grading.private.score if grading.private else None,
        grading=summary,
        plots=dict(grading.plots),
    )


def metric_for(ctx: Context, job: Job) -> Any:
    """The metric by name, or the challenge's custom metric loaded from its stored code."""
    spec = job.spec.get("metric") or {}
    if not spec.get("custom"):
        return job.metric
    from heldout.graders import load_custom_metric

    folder = ctx.cache / "metrics" / str(job.version_id)
    file_name = str(spec["custom"]).partition(":")[0]
    with ctx.lock(f"metric-{job.version_id}"):
        if not (folder / file_name).is_file():
            ctx.storage.get_file(str(spec["custom_key"]), folder / file_name)
        return load_custom_metric(
            folder,
            str(spec["custom"]),
            higher_is_better=bool(spec.get("higher_is_better", True)),
            needs=spec.get("needs", "labels"),
            name=job.metric,
        )


def record(
    ctx: Context,
    claim: queue.Claim,
    job: Job,
    run_id: int | None,
    result: Any,
    outcome: Outcome,
    phases: dict[str, float] | None = None,
) -> str:
    """Store the artifacts, then the run and the final state in one transaction."""
    prefix = f"runs/{job.submission_id}/{claim.attempt}"
    executed_key = predictions_key = None
    if result.executed_path and Path(result.executed_path).is_file():
        executed_key = f"{prefix}/executed.ipynb"
        ctx.storage.put_file(executed_key, Path(result.executed_path), "application/x-ipynb+json")
    if result.predictions_path and Path(result.predictions_path).is_file():
        predictions_key = f"{prefix}/predictions.csv"
        ctx.storage.put_file(predictions_key, Path(result.predictions_path), "text/csv")
    grading = dict(outcome.grading or {})
    if outcome.plots:
        keys = {}
        for name, svg in outcome.plots.items():
            keys[name] = f"{prefix}/plots/{name}.svg"
            ctx.storage.put_bytes(keys[name], svg.encode(), "image/svg+xml")
        grading["plots"] = keys
    with ctx.db.session() as session:
        done = queue.complete(
            session,
            claim,
            status=outcome.status,
            failure=outcome.failure,
            failure_message=outcome.message,
            failure_detail=outcome.detail,
            public_score=outcome.public_score,
            private_score=outcome.private_score,
            grading=grading or None,
        )
        if not done:  # the lease was lost: another worker owns this submission now
            log.warning("lease lost, result discarded", extra={"submission_id": job.submission_id})
            return "lost"
        run = session.get(Run, run_id)
        if run is not None:
            payload = result.to_json()
            run.status = result.status
            run.reason = result.reason
            run.finished_at = utcnow()
            run.duration_s = result.duration_s
            run.image_digest = result.image_digest
            run.notebook_sha256 = result.notebook_sha256
            run.data_sha256 = result.data_sha256 or job.data_sha256
            run.cell_timings = payload.get("cell_timings")
            run.logs = (result.logs or "")[-MAX_LOG_CHARS:]
            run.executed_key = executed_key
            run.predictions_key = predictions_key
            run.result = {**payload, "phases": phases or {}}
    log.info(
        "submission finished",
        extra={
            "submission_id": job.submission_id,
            "run_id": run_id,
            "status": outcome.status,
            "phases": phases or {},
        },
    )
    return outcome.status


def retry(ctx: Context, claim: queue.Claim, run_id: int | None, exc: Exception) -> str:
    """A platform error: back to the queue with backoff, or failed once attempts run out."""
    message = str(exc) or type(exc).__name__
    log.warning(
        "platform error: %s",
        message,
        extra={"submission_id": claim.submission_id, "run_id": run_id},
    )
    try:
        with ctx.db.session() as session:
            if run_id is not None and (run := session.get(Run, run_id)) is not None:
                run.status, run.reason, run.finished_at = "platform_error", message, utcnow()
            if claim.attempt >= ctx.max_attempts:
                queue.complete(
                    session,
                    claim,
                    status="failed",
                    failure="platform_error",
                    failure_message=(
                        "Heldout could not run your notebook because of a problem on our side "
                        "(not your code). It does not count against your submissions; the "
                        "team has been told."
                    ),
                    failure_detail={"error": message[:500]},
                )
                return "failed"
        backoff = min(2**claim.attempt, 300)
        queue.release(ctx.db, claim, delay_s=backoff, attempt_used=True)
    except HeldoutError:
        log.exception("could not record platform error; the lease will expire and retry")
    return "requeued"
