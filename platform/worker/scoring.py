"""Score a run's predictions with the challenge's metric, and say whose fault a failure is.

InvalidPredictions is the candidate's counted failure. Any other GradingError (a custom metric
that fails to load or raises, a non-numeric target, an answer key without public rows or with
repeated ids) and any unexpected exception while grading is the challenge's fault: the
submission fails as challenge_error, never counted and never retried, and the admins are told.
"""

from __future__ import annotations

import logging
from pathlib import Path

from heldout.graders import GradingError, InvalidPredictions, Metric, grade, load_custom_metric
from heldout.platform.errors import HeldoutError
from heldout.platform.worker.job import Context, Job, read_answers
from heldout.platform.worker.outcome import Outcome, challenge_error, invalid_predictions

log = logging.getLogger("heldout.worker")


def score(ctx: Context, job: Job, predictions: Path) -> Outcome:
    """The scored outcome of a predictions file, or the failure that explains why not."""
    params = (job.spec.get("metric") or {}).get("params") or None
    try:
        grading = grade(
            predictions=predictions,
            answers=read_answers(ctx, job),
            metric=metric_for(ctx, job),
            params=params,
        )
    except InvalidPredictions as exc:
        return invalid_predictions(exc)
    except GradingError as exc:
        return _challenge_fault(job, str(exc))
    except (HeldoutError, OSError):
        raise  # host-side (storage, disk): a platform error, retried
    except Exception as exc:  # noqa: BLE001  (a crash inside grading is the challenge's, not theirs)
        return _challenge_fault(job, f"grading raised {type(exc).__name__}: {exc}")
    return Outcome(
        "scored",
        None,
        None,
        None,
        public_score=grading.public.score,
        private_score=grading.private.score if grading.private else None,
        grading=grading.to_json(),
        plots=dict(grading.plots),
    )


def _challenge_fault(job: Job, reason: str) -> Outcome:
    log.error(
        "challenge error: %s",
        reason,
        extra={"submission_id": job.submission_id, "version_id": job.version_id},
    )
    return challenge_error(reason)


def metric_for(ctx: Context, job: Job) -> str | Metric:
    """The metric by name, or the challenge's custom metric loaded from its stored code."""
    spec = job.spec.get("metric") or {}
    if not spec.get("custom"):
        return job.metric
    folder = ctx.cache / "metrics" / str(job.version_id)
    file_name = str(spec["custom"]).partition(":")[0]
    if not file_name or Path(file_name).name != file_name or file_name in (".", ".."):
        # a bare file name only: a stored spec (an imported one, say) must not write elsewhere
        raise GradingError(f"the custom metric file {file_name!r} is not a bare file name")
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
