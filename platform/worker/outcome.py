"""Turn a sandbox RunResult or a grading error into the submission's final state."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from heldout.platform.failures import get_failure


@dataclass
class Outcome:
    status: str  # scored | failed
    failure: str | None
    message: str | None
    detail: dict[str, Any] | None
    public_score: float | None = None
    private_score: float | None = None
    grading: dict[str, Any] | None = None
    plots: dict[str, str] = field(default_factory=dict)


def _failed(category: str, message: str, detail: dict[str, Any] | None = None) -> Outcome:
    sentence = message[:1].upper() + message[1:]  # shown as a sentence to the candidate
    hint = get_failure(category).hint
    return Outcome("failed", category, sentence, {**(detail or {}), "hint": hint})


def from_result(result: Any) -> Outcome:
    """Map a RunResult; a succeeded run is 'scored' pending grading."""
    status = result.status
    reason = result.reason or ""
    if status == "succeeded":
        if not result.predictions_path:
            return _failed(
                "invalid_predictions",
                "Your notebook finished but did not write predictions.csv in its "
                "working directory (next to the notebook, not inside data/).",
            )
        return Outcome("scored", None, None, None)
    if status == "rejected":
        return _failed("invalid_notebook", reason)
    if status == "timed_out":
        return _failed("timeout", reason)
    if status == "out_of_memory":
        return _failed("out_of_memory", reason)
    detail = dict(result.failure or {})
    return _failed("notebook_error", reason, detail)


def from_grading_error(exc: Exception) -> Outcome:
    return _failed("invalid_predictions", str(exc))
