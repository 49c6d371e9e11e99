"""Limits of one sandbox run, every one with its default and its reason."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from heldout.sandbox.errors import SandboxError

MB = 2**20


@dataclass(frozen=True)
class Limits:
    """What one notebook run may use; the defaults suit a take-home ML notebook."""

    timeout_s: float = 600.0  # wall clock from the first cell, enforced from outside too
    memory_mb: int = 2048  # RAM, equal to RAM+swap (no swap); tmpfs writes count against it
    cpus: float = 1.0  # CPU quota in cores
    pids: int = 256  # processes and threads together: stops fork storms
    nofile: int = 1024  # open files per process
    disk_mb: int = 512  # size-capped working directory (tmpfs), besides the data
    tmp_mb: int = 256  # size-capped /tmp (tmpfs)
    cell_output_kb: int = 1024  # a cell's outputs beyond this are truncated in executed.ipynb
    output_abort_mb: int = 64  # all outputs beyond this stop the run: an output flood
    executed_mb: int = 64  # largest executed.ipynb collected
    predictions_mb: int = 100  # largest predictions.csv collected
    grace_s: float = 10.0  # extra time the in-container runner gets before the host kills it

    def __post_init__(self) -> None:
        positive = {k: v for k, v in asdict(self).items() if k != "grace_s"}
        bad = [k for k, v in positive.items() if not v or v <= 0]
        if bad:
            raise SandboxError(f"sandbox limits must be positive: {', '.join(bad)}")
        if self.pids < 32:
            raise SandboxError("sandbox limits: pids below 32 cannot start a kernel")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)
