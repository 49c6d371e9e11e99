"""The outcome of one sandbox run, as data: statuses, the failure, timings and hashes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["succeeded", "failed", "timed_out", "out_of_memory", "rejected"]
STATUSES: tuple[Status, ...] = ("succeeded", "failed", "timed_out", "out_of_memory", "rejected")


@dataclass
class RunResult:
    """What happened to a notebook; a notebook's own failure is a result, never an exception."""

    status: Status
    reason: str
    duration_s: float = 0.0
    cell_timings: list[dict[str, Any]] = field(default_factory=list)
    image_digest: str = ""
    notebook_sha256: str = ""
    data_sha256: str = ""
    failure: dict[str, Any] | None = None  # {"cell", "ename", "evalue", "traceback"}
    executed_path: Path | None = None
    predictions_path: Path | None = None
    logs: str = ""
    notes: list[str] = field(default_factory=list)  # what was not collected, and why
    container: str = ""  # the container's id, for logs and for checking it is gone
    warm: bool = False  # the container was started ahead (warm pool), still fresh and unused
    runtime: str = ""  # the container runtime it ran under (runsc is gVisor)

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    def to_json(self) -> dict[str, Any]:
        """The CLI's JSON object."""
        return {
            "status": self.status,
            "reason": self.reason,
            "duration_s": round(self.duration_s, 3),
            "cell_timings": self.cell_timings,
            "image_digest": self.image_digest,
            "notebook_sha256": self.notebook_sha256,
            "data_sha256": self.data_sha256,
            "failure": self.failure,
            "executed": str(self.executed_path) if self.executed_path else None,
            "predictions": str(self.predictions_path) if self.predictions_path else None,
            "notes": self.notes,
            "container": self.container,
            "warm": self.warm,
            "runtime": self.runtime,
        }
