"""Benchmarks for `make bench`: each module measures ours against a baseline in the same run.

A module here defines `run(quick: bool) -> list[Row]`; `python -m tests.bench [names]` runs
them, prints one table with the machine it ran on, and rewrites tests/bench/RESULTS.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    """One measured figure, with the baseline it is compared against."""

    name: str
    ours: float
    baseline: float | None
    unit: str
    target: str
    note: str = ""

    @property
    def ratio(self) -> str:
        if self.baseline in (None, 0):
            return "-"
        return f"{self.ours / self.baseline:.2f}x"
