"""Turn a sandbox RunResult or a grading failure into the submission's final state.

`message` and `detail` are for reviewers and admins (they may quote the private test rows);
what the candidate sees is decided in worker/disclosure.py from `public` and host-side facts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from heldout.graders import InvalidPredictions
from heldout.platform.failures import get_failure
from heldout.sandbox import RunResult


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
    public: str | None = None  # a candidate-safe message, when the outcome has one

    @property
    def notebook_ran(self) -> bool:
        """The notebook ran to an outcome of its own (not refused, timed out or ours to blame)."""
        return self.failure not in (
            "invalid_notebook",
            "timeout",
            "platform_error",
            "challenge_error",
        )


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


def _failed(
    category: str, message: str, detail: dict[str, Any] | None = None, public: str | None = None
) -> Outcome:
    hint = get_failure(category).hint
    return Outcome(
        "failed",
        category,
        _sentence(message),
        {**(detail or {}), "hint": hint},
        public=_sentence(public) if public is not None else None,
    )


NO_PREDICTIONS = (
    "Your notebook finished but did not write predictions.csv in its working directory "
    "(next to the notebook, not inside data/)."
)


def from_result(result: RunResult) -> Outcome:
    """Map a RunResult; a succeeded run is 'scored' pending grading."""
    status = result.status
    reason = result.reason or ""
    if status == "succeeded":
        if not result.predictions_path:
            return _failed("invalid_predictions", NO_PREDICTIONS, public=NO_PREDICTIONS)
        return Outcome("scored", None, None, None)
    if status == "rejected":
        return _failed("invalid_notebook", reason, public=reason)
    if status == "timed_out":
        return _failed("timeout", reason, public=reason)
    if status == "out_of_memory":
        return _failed("out_of_memory", reason, public=reason)
    # The reason quotes the exception's value, which may hold private rows: no public message.
    return _failed("notebook_error", reason, dict(result.failure or {}))


def invalid_predictions(exc: InvalidPredictions) -> Outcome:
    """The candidate's predictions could not be scored (counted); `public` is safe to show."""
    return _failed("invalid_predictions", str(exc), {"kind": exc.kind}, public=exc.public)


def challenge_error(reason: str) -> Outcome:
    """The challenge is set up wrongly (not counted, not retried)."""
    text = get_failure("challenge_error").help
    return _failed("challenge_error", reason, {"error": reason[:2000]}, public=text)


def platform_error(reason: str) -> Outcome:
    """Heldout could not run it (not counted)."""
    text = (
        "Heldout could not run your notebook because of a problem on our side (not your code). "
        "It does not count against your submissions; the team has been told."
    )
    return _failed("platform_error", text, {"error": reason[:500]}, public=text)
