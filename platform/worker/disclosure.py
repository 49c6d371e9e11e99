"""What the candidate may see of a submission, decided by the worker and stored with it.

The scored run saw every test row's features, so everything it produced (evalue, traceback,
executed notebook, predictions) may hold private rows. From it the candidate gets only host-side
facts: the status, the category, the failing cell's number, the exception's type name when it is
a builtin one, the public score, and for invalid predictions the grader's candidate-safe message.
The details (evalue, traceback, executed notebook) come from the candidate run, the same notebook
run on the bundle the candidate downloaded: it can only show rows they already have.
"""

from __future__ import annotations

import builtins
from typing import Any

from heldout.platform.failures import get_failure
from heldout.platform.worker.outcome import Outcome
from heldout.sandbox import RunResult

BUILTIN_EXCEPTIONS = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and issubclass(value, BaseException)
)


def builtin_name(ename: Any) -> str | None:
    """The exception's type name if it is a builtin one; a class name a notebook chose could
    spell out private data."""
    return ename if isinstance(ename, str) and ename in BUILTIN_EXCEPTIONS else None


def view(
    scored: Outcome,
    scored_result: RunResult | None,
    candidate: RunResult | None,
    executed_key: str | None,
) -> dict[str, Any]:
    """The stored candidate view: {"failure": {...} | None, "executed_key", "run_time_s"}."""
    return {
        "failure": _failure(scored, scored_result, candidate) if scored.failure else None,
        "executed_key": executed_key,
        "run_time_s": scored_result.duration_s if scored_result is not None else None,
    }


def _failure(
    scored: Outcome, scored_result: RunResult | None, candidate: RunResult | None
) -> dict[str, Any]:
    category = str(scored.failure)
    facts = (scored_result.failure or {}) if scored_result is not None else {}
    cell = facts.get("cell") if category == "notebook_error" else None
    ename = builtin_name(facts.get("ename")) if category == "notebook_error" else None
    failure: dict[str, Any] = {
        "category": category,
        "message": scored.public or _cell_sentence(cell, ename),
        "hint": get_failure(category).hint,
        "cell": cell if isinstance(cell, int) else None,
        "ename": ename,
        "evalue": None,
        "traceback": None,
    }
    if candidate is None:
        return failure
    mine = candidate.failure or {}
    same = _category(candidate) == category and (
        category != "notebook_error"
        or (mine.get("cell") == facts.get("cell") and mine.get("ename") == facts.get("ename"))
    )
    if same and category == "notebook_error":
        # The candidate run failed the same way on their own rows: its details are theirs.
        failure.update(
            ename=mine.get("ename"), evalue=mine.get("evalue"), traceback=mine.get("traceback")
        )
    elif not same:
        failure["message"] += " " + _difference(candidate, category, failure)
    return failure


def _category(result: RunResult) -> str | None:
    if result.status == "succeeded":
        return None if result.predictions_path else "invalid_predictions"
    return {
        "rejected": "invalid_notebook",
        "timed_out": "timeout",
        "out_of_memory": "out_of_memory",
    }.get(result.status, "notebook_error")


def _cell_sentence(cell: Any, ename: str | None) -> str:
    what = ename or "an exception"
    return (
        f"Cell {cell} raised {what}." if isinstance(cell, int) else f"Your notebook raised {what}."
    )


def _difference(candidate: RunResult, category: str, failure: dict[str, Any]) -> str:
    """One sentence: how the run on the candidate's own test rows differed from the scored one."""
    mine = _category(candidate)
    if mine is None:
        theirs = "your notebook ran"
    elif mine == "notebook_error":
        facts = candidate.failure or {}
        where = f" in cell {facts['cell']}" if isinstance(facts.get("cell"), int) else ""
        theirs = f"your notebook failed{where} with {_article(str(facts.get('ename') or 'error'))}"
    elif mine == "invalid_predictions":
        theirs = "your notebook ran but wrote no predictions.csv"
    else:
        theirs = {"timeout": "it ran out of time", "out_of_memory": "it ran out of memory"}.get(
            mine, "it could not run"
        )
    if category == "notebook_error":
        where = f" in cell {failure['cell']}" if failure["cell"] is not None else ""
        name = _article(failure["ename"]) if failure["ename"] else "an exception"
        ours = f"it failed on the hidden test rows{where} with {name}"
    elif category == "timeout":
        ours = "on all the test rows, hidden ones included, it ran out of time"
    elif category == "out_of_memory":
        ours = "on all the test rows, hidden ones included, it ran out of memory"
    else:
        ours = "on all the test rows, hidden ones included, its predictions could not be scored"
    return f"On the test rows you have, {theirs}; {ours}."


def _article(name: str) -> str:
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"
