"""The `[limits]` of a challenge: run resources and a candidate's caps, with their defaults.

Its own module (no pyarrow, no pandas) so the web layer and the worker read stored limits cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ATTEMPTS_PER_SUBMISSION = 3  # default `attempts` cap: this many runs per scored submission


@dataclass(frozen=True)
class LimitsSpec:
    """The `[limits]` table: per-run resources, and the two caps on a candidate's tries.

    `submissions` counts scored submissions; `attempts` counts every run the candidate is
    charged for, failed ones included (default 3x submissions). The one owner of the defaults.
    """

    timeout_s: int = 600
    memory_mb: int = 2048
    cpus: float = 1
    submissions: int = 5
    attempts: int = 5 * ATTEMPTS_PER_SUBMISSION

    @classmethod
    def from_stored(cls, table: dict[str, Any] | None) -> LimitsSpec:
        """Read the `limits` of a stored spec (older builds lack `attempts`)."""
        table = table or {}
        submissions = int(table.get("submissions", cls.submissions))
        return cls(
            timeout_s=int(table.get("timeout_s", cls.timeout_s)),
            memory_mb=int(table.get("memory_mb", cls.memory_mb)),
            cpus=float(table.get("cpus", cls.cpus)),
            submissions=submissions,
            attempts=int(table.get("attempts", submissions * ATTEMPTS_PER_SUBMISSION)),
        )
