"""Run one claimed submission to its end: sandbox, score, candidate run, record — or retry.

Every path ends with a record: a claim past HELDOUT_MAX_ATTEMPTS fails at once; any exception
while executing, scoring or recording ends its attempt (the Run row gets a status and reason)
and is retried with backoff as a platform error until the attempts run out.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from heldout.platform.models import Run, utcnow
from heldout.platform.services import notifications
from heldout.platform.worker import disclosure, queue
from heldout.platform.worker.job import (
    Context,
    Job,
    candidate_inputs,
    limits_for,
    load_job,
    sandbox_inputs,
)
from heldout.platform.worker.outcome import Outcome, from_result, platform_error
from heldout.platform.worker.scoring import score
from heldout.sandbox import RunResult

log = logging.getLogger("heldout.worker")

MAX_LOG_CHARS = 100_000
CANDIDATE_RUN_MODES = ("always", "failed", "never")

__all__ = ["Context", "execute"]


@dataclass
class CandidateRun:
    """The same notebook on the candidate's own bundle; its failure never changes the score."""

    run_id: int
    result: RunResult | None
    data_sha256: str | None
    error: str | None = None


def execute(ctx: Context, claim: queue.Claim) -> str:
    """Process one claim to its end; returns the final status (or 'requeued'/'lost').

    A final status e-mails the candidate once (services/notifications.py claims it)."""
    status = _execute(ctx, claim)
    if status in ("scored", "failed"):
        notifications.submission_finished(ctx.db, ctx.config, claim.submission_id)
    return status


def _execute(ctx: Context, claim: queue.Claim) -> str:
    if claim.attempt > ctx.max_attempts:
        return give_up(ctx, claim)
    run_ids: list[int] = []
    workdir = Path(tempfile.mkdtemp(prefix="heldout-run-"))
    try:
        job = load_job(ctx, claim)
        run_ids.append(_start_run(ctx, claim, job, "scored", job.data_sha256))
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
        if outcome.status == "scored" and result.predictions_path is not None:
            outcome = score(ctx, job, Path(result.predictions_path))
        lap("grade_s")
        candidate = None
        if _wants_candidate_run(ctx, outcome):
            candidate = run_candidate(ctx, claim, job, notebook, workdir)
            run_ids.append(candidate.run_id)
            lap("candidate_s")
        return record(ctx, claim, job, run_ids[0], result, outcome, phases, candidate)
    except Exception as exc:  # noqa: BLE001  (every path ends with a record, then a retry)
        return retry(ctx, claim, run_ids, exc)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _wants_candidate_run(ctx: Context, outcome: Outcome) -> bool:
    mode = str(ctx.config["HELDOUT_CANDIDATE_RUN"])
    if mode == "never" or not outcome.notebook_ran:
        return False
    return mode == "always" or outcome.status == "failed"


def _start_run(
    ctx: Context, claim: queue.Claim, job: Job, purpose: str, data_sha256: str | None
) -> int:
    with ctx.db.session() as session:
        run = Run(
            submission_id=job.submission_id,
            attempt=claim.attempt,
            purpose=purpose,
            worker=ctx.worker,
            started_at=utcnow(),
            notebook_sha256=None,
            data_sha256=data_sha256,
        )
        session.add(run)
        session.flush()
        return run.id


def run_candidate(
    ctx: Context, claim: queue.Claim, job: Job, notebook: Path, workdir: Path
) -> CandidateRun:
    """Run the notebook again on the bundle's train.csv and test.csv (public rows only)."""
    run_id = _start_run(ctx, claim, job, "candidate", None)
    sha = None
    try:
        data_dir, sha = candidate_inputs(ctx, job)
        out_dir = workdir / "candidate"
        out_dir.mkdir()
        result = ctx.backend.run(
            notebook=notebook,
            data_dir=data_dir,
            out_dir=out_dir,
            limits=limits_for(job),
            labels={
                "heldout.submission": str(job.submission_id),
                "heldout.worker": ctx.worker,
                "heldout.purpose": "candidate",
            },
        )
    except Exception as exc:  # noqa: BLE001  (the candidate run is best effort: never the score's)
        log.warning(
            "candidate run failed: %s",
            exc,
            extra={"submission_id": job.submission_id, "run_id": run_id},
        )
        return CandidateRun(run_id, None, sha, error=str(exc) or type(exc).__name__)
    return CandidateRun(run_id, result, sha)


def _store(ctx: Context, prefix: str, result: RunResult) -> tuple[str | None, str | None]:
    executed_key = predictions_key = None
    if result.executed_path and Path(result.executed_path).is_file():
        executed_key = f"{prefix}/executed.ipynb"
        ctx.storage.put_file(executed_key, Path(result.executed_path), "application/x-ipynb+json")
    if result.predictions_path and Path(result.predictions_path).is_file():
        predictions_key = f"{prefix}/predictions.csv"
        ctx.storage.put_file(predictions_key, Path(result.predictions_path), "text/csv")
    return executed_key, predictions_key


def _finish(
    run: Run,
    result: RunResult,
    keys: tuple[str | None, str | None],
    data_sha256: str | None,
    phases: dict[str, float] | None = None,
) -> None:
    payload = result.to_json()
    run.status = result.status
    run.reason = result.reason
    run.finished_at = utcnow()
    run.duration_s = result.duration_s
    run.image_digest = result.image_digest
    run.notebook_sha256 = result.notebook_sha256
    run.data_sha256 = result.data_sha256 or data_sha256
    run.cell_timings = payload.get("cell_timings")
    run.logs = (result.logs or "")[-MAX_LOG_CHARS:]
    run.executed_key, run.predictions_key = keys
    run.result = {**payload, "phases": phases or {}}


def record(
    ctx: Context,
    claim: queue.Claim,
    job: Job,
    run_id: int,
    result: RunResult,
    outcome: Outcome,
    phases: dict[str, float] | None = None,
    candidate: CandidateRun | None = None,
) -> str:
    """Store the artifacts, then the runs, the candidate view and the final state at once."""
    prefix = f"runs/{job.submission_id}/{claim.attempt}"
    scored_keys = _store(ctx, prefix, result)
    candidate_keys: tuple[str | None, str | None] = (None, None)
    if candidate is not None and candidate.result is not None:
        candidate_keys = _store(ctx, f"{prefix}/candidate", candidate.result)
    grading = dict(outcome.grading or {})
    if outcome.plots:
        keys = {}
        for name, svg in outcome.plots.items():
            keys[name] = f"{prefix}/plots/{name}.svg"
            ctx.storage.put_bytes(keys[name], svg.encode(), "image/svg+xml")
        grading["plots"] = keys
    seen = candidate.result if candidate is not None else None
    view = disclosure.view(outcome, result, seen, candidate_keys[0])
    with ctx.db.session() as session:
        run = session.get(Run, run_id)
        if run is not None:
            _finish(run, result, scored_keys, job.data_sha256, phases)
        if candidate is not None and (mine := session.get(Run, candidate.run_id)) is not None:
            if candidate.result is not None:
                _finish(mine, candidate.result, candidate_keys, candidate.data_sha256)
            else:
                mine.status, mine.reason, mine.finished_at = (
                    "platform_error",
                    candidate.error,
                    utcnow(),
                )
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
            candidate_view=view,
        )
        if not done:  # the lease was lost: another worker owns this submission now
            log.warning("lease lost, result discarded", extra={"submission_id": job.submission_id})
            if run is not None:
                run.reason = f"{run.reason or ''} (lease lost; result discarded)".strip()
            return "lost"
    log.info(
        "submission finished",
        extra={
            "submission_id": job.submission_id,
            "run_id": run_id,
            "status": outcome.status,
            "failure": outcome.failure,
            "phases": phases or {},
        },
    )
    return outcome.status


def _fail(ctx: Context, claim: queue.Claim, reason: str) -> bool:
    """Fail the submission as a platform error (inside one transaction)."""
    outcome = platform_error(reason)
    with ctx.db.session() as session:
        return queue.complete(
            session,
            claim,
            status="failed",
            failure=outcome.failure,
            failure_message=outcome.message,
            failure_detail=outcome.detail,
            candidate_view=disclosure.view(outcome, None, None, None),
        )


def give_up(ctx: Context, claim: queue.Claim) -> str:
    """A claim past the attempt cap (its earlier attempts crashed or lost their lease)."""
    reason = f"gave up after {claim.attempt - 1} attempts (HELDOUT_MAX_ATTEMPTS={ctx.max_attempts})"
    log.error("platform error: %s", reason, extra={"submission_id": claim.submission_id})
    return "failed" if _fail(ctx, claim, reason) else "lost"


def retry(ctx: Context, claim: queue.Claim, run_ids: list[int], exc: Exception) -> str:
    """A platform error: end the attempt's runs, then back to the queue with backoff, or
    failed once the attempts run out."""
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    expected = _host_side(exc)
    log.log(
        logging.WARNING if expected else logging.ERROR,
        "platform error: %s",
        message,
        exc_info=None if expected else exc,
        extra={"submission_id": claim.submission_id, "run_id": run_ids[0] if run_ids else None},
    )
    try:
        with ctx.db.session() as session:
            for run_id in run_ids:
                run = session.get(Run, run_id)
                if run is not None and run.status == "running":
                    run.status, run.reason, run.finished_at = "platform_error", message, utcnow()
        if claim.attempt >= ctx.max_attempts:
            _fail(ctx, claim, f"gave up after {claim.attempt} attempts: {message}")
            return "failed"
        backoff = min(2**claim.attempt, 300)
        queue.release(ctx.db, claim, delay_s=backoff, attempt_used=True)
    except Exception:  # the database itself is down: the lease expires, the cap holds
        log.exception("could not record platform error; the lease will expire and retry")
    return "requeued"


def _host_side(exc: Exception) -> bool:
    """Engine, storage, database or disk: expected platform errors, logged without a trace."""
    from heldout.platform.errors import HeldoutError
    from heldout.sandbox import SandboxError

    return isinstance(exc, SandboxError | HeldoutError | OSError)
