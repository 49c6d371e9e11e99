"""The backend interface the worker uses, and a fake one for testing callers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from heldout.sandbox.limits import Limits
from heldout.sandbox.result import RunResult

Labels = Mapping[str, str]


class Backend(ABC):
    """Runs one notebook in isolation; results are data, infrastructure failures raise."""

    name: str = ""

    @abstractmethod
    def run(
        self,
        notebook: Path,
        data_dir: Path,
        out_dir: Path,
        limits: Limits | None = None,
        labels: Labels | None = None,
    ) -> RunResult:
        """Execute `notebook` with `data_dir` as ./data; outputs land in `out_dir`."""

    def reap(self, worker: str | None = None, everything: bool = False) -> list[str]:
        """Remove leftovers: past their deadline, of a dead `worker`, or all; returns ids."""
        return []

    def owners(self) -> set[str]:
        """Worker ids that own containers right now (a reaper asks which of them died)."""
        return set()

    def close(self) -> None:  # noqa: B027  (optional: most backends hold nothing)
        """Release what the backend holds (connections, warm containers)."""


Handler = Callable[[Path, Path, Path, Limits], RunResult]


@dataclass
class FakeBackend(Backend):
    """A backend that calls `handler(notebook, data_dir, out_dir, limits)`, like MockTransport."""

    handler: Handler
    calls: list[dict[str, object]] = field(default_factory=list)
    name: str = "fake"

    def run(
        self,
        notebook: Path,
        data_dir: Path,
        out_dir: Path,
        limits: Limits | None = None,
        labels: Labels | None = None,
    ) -> RunResult:
        limits = limits or Limits()
        self.calls.append(
            {
                "notebook": notebook,
                "data_dir": data_dir,
                "out_dir": out_dir,
                "limits": limits,
                "labels": dict(labels or {}),
            }
        )
        return self.handler(notebook, data_dir, out_dir, limits)
