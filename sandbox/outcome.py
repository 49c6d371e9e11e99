"""Turns what the host saw and what the runner reported into a RunResult with a clear reason."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from heldout.sandbox.errors import SandboxError
from heldout.sandbox.limits import Limits
from heldout.sandbox.result import RunResult

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
LOG_CAP = 16_000


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def _failure(report: dict[str, Any]) -> dict[str, Any] | None:
    """The runner's failure, cleaned: it comes from inside the sandbox, so types are checked."""
    raw = report.get("failure")
    if not isinstance(raw, dict):
        return None
    cell = raw.get("cell")
    return {
        "cell": cell if isinstance(cell, int) else 0,
        "ename": str(raw.get("ename", ""))[:200],
        "evalue": strip_ansi(str(raw.get("evalue", "")))[:2000],
        "traceback": strip_ansi(str(raw.get("traceback", "")))[-4000:],
    }


def _last_line(text: Any) -> str:
    lines = strip_ansi(str(text or "")).strip().splitlines()
    return lines[-1][:300] if lines else "no detail"


def _timings(report: dict[str, Any] | None) -> list[dict[str, Any]]:
    raw = (report or {}).get("cell_timings")
    if not isinstance(raw, list):
        return []
    return [
        {"cell": int(t["cell"]), "seconds": float(t["seconds"])}
        for t in raw[:10_000]
        if isinstance(t, dict)
        and isinstance(t.get("cell"), int)
        and isinstance(t.get("seconds"), int | float)
    ]


def outcome(
    *,
    base: RunResult,
    report: dict[str, Any] | None,
    finished: bool,
    oom: bool,
    duration_s: float,
    total_s: float,
    out_dir: Path,
    notes: list[str],
    limits: Limits,
) -> RunResult:
    """The result of a run from the runner's report (untrusted) and the host's observations."""
    if report is not None and report.get("status") == "error" and report.get("phase") == "start":
        # the kernel did not start: nothing of the notebook ran (the image or the engine is at
        # fault). Only the runner writes its report; the notebook runs under another uid.
        raise SandboxError("the sandbox kernel did not start: " + _last_line(report.get("error")))
    executed = out_dir / "executed.ipynb"
    predictions = out_dir / "predictions.csv"
    timings = _timings(report)
    failure = _failure(report) if report else None
    current = failure["cell"] if failure else (timings[-1]["cell"] if timings else 0)
    at_cell = f" in cell {current}" if current else ""
    status = str((report or {}).get("status", ""))
    kept = [n for n in notes if "executed.ipynb was not written" not in n or finished]

    if oom:
        status, reason = (
            "out_of_memory",
            (
                f"the notebook ran out of memory{at_cell}: it may use {limits.memory_mb} MB "
                "(files written to the working directory and /tmp count too)"
            ),
        )
    elif not finished:
        if duration_s >= limits.timeout_s:
            status, reason = (
                "timed_out",
                (
                    f"the notebook did not finish within {limits.timeout_s:g} s{at_cell}; "
                    "the executed notebook shows how far it got"
                ),
            )
        else:
            status, reason = (
                "failed",
                (
                    "the notebook stopped the sandbox's runner (it killed its parent process "
                    "or the container), so the run ended early"
                ),
            )
    elif status == "timed_out":
        reason = (
            f"the notebook did not finish within {limits.timeout_s:g} s: cell {current} was "
            "still running; the executed notebook shows how far it got"
        )
    elif status == "failed" and failure:
        if failure["ename"] == "DeadKernelError":
            reason = f"the kernel died while running cell {current} ({failure['evalue']})"
        elif failure["ename"] == "StdinNotImplementedError":
            reason = (
                f"cell {current} asked for typed input (input() or getpass()), and nobody can "
                "type into a sandbox run: set the value in the code instead"
            )
        else:
            reason = f"cell {current} raised {failure['ename']}: {failure['evalue']}"
    elif status == "error":
        # the runner itself stopped after the notebook started: the notebook's run, counted
        status, reason = (
            "failed",
            "the sandbox runner stopped while running your notebook"
            f"{at_cell}: {_last_line((report or {}).get('error'))}",
        )
    elif status == "succeeded":
        code = len(timings)
        reason = f"ran {code} code cell{'s' if code != 1 else ''} in {duration_s:.1f} s"
        if kept:
            reason += "; " + "; ".join(kept)
    else:
        status, reason = "failed", "the sandbox runner reported nothing usable"
    return replace(
        base,
        status=status,  # type: ignore[arg-type]
        reason=reason,
        duration_s=total_s,
        cell_timings=timings,
        failure=failure if status in ("failed", "timed_out", "out_of_memory") else None,
        executed_path=executed if executed.is_file() else None,
        predictions_path=predictions if predictions.is_file() else None,
        logs=strip_ansi(str((report or {}).get("log", "")))[-LOG_CAP:],
        notes=kept,
    )
