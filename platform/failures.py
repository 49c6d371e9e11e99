"""The failure vocabulary: every way a submission can fail, its words for the candidate, and
whether it counts against their submission limit. The one owner of these facts; the model, the
worker and the portal read them from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Failure:
    """One failure category: `title` heads the portal card, `help` explains it, `hint` says what
    to do, `counted` whether it uses up one of the candidate's submissions."""

    category: str
    title: str
    help: str
    hint: str
    counted: bool


_ALL = (
    Failure(
        "invalid_notebook",
        "The file could not be run as a notebook",
        "We could not start your notebook. Below is what we found.",
        "Save the notebook from Jupyter and upload the .ipynb file.",
        counted=True,
    ),
    Failure(
        "notebook_error",
        "A cell in your notebook raised an error",
        "Your notebook stopped at the cell below. The same error usually shows up on your "
        "computer when you restart the kernel and run all cells with data/ beside it.",
        "Run the notebook top to bottom on your machine with data/ beside it "
        "(Kernel > Restart & Run All) to reproduce the error.",
        counted=True,
    ),
    Failure(
        "timeout",
        "Your notebook ran out of time",
        "Each run has a time limit (see the rules on the challenge page). The executed "
        "notebook below shows how far it got.",
        "Your notebook ran past the time limit. Profile the slow cells, train on a sample, or "
        "use fewer estimators or folds. The executed notebook shows how far it got.",
        counted=True,
    ),
    Failure(
        "out_of_memory",
        "Your notebook ran out of memory",
        "Each run has a memory limit (see the rules on the challenge page); the notebook was "
        "stopped when it went over.",
        "Your notebook used more memory than allowed. Load only the columns you need, use "
        "smaller dtypes (float32, category), or process in chunks.",
        counted=True,
    ),
    Failure(
        "invalid_predictions",
        "Something is wrong with predictions.csv",
        "Your notebook finished, but the predictions file could not be scored. Below is the "
        "first problem we found.",
        "Write predictions.csv with one row per id in data/test.csv and the columns the brief "
        "asks for.",
        counted=True,
    ),
    Failure(
        "platform_error",
        "A problem on our side (not your code)",
        "We could not run your notebook because of a problem on our side. We retried "
        "automatically; please submit again later.",
        "Submit again later; this does not count against your submissions.",
        counted=False,
    ),
    Failure(
        "challenge_error",
        "A problem with the challenge itself (not your code)",
        "Your notebook could not be scored because of a problem with the challenge itself, "
        "not your code. The team has been told.",
        "Nothing to change in your notebook; this does not count against your submissions. "
        "Submit again once the team has fixed the challenge.",
        counted=False,
    ),
)

FAILURES: dict[str, Failure] = {failure.category: failure for failure in _ALL}
CATEGORIES = tuple(FAILURES)
# Categories that use up one of the candidate's submissions (the others are not their fault).
COUNTED = frozenset(f.category for f in _ALL if f.counted)


def get_failure(category: str) -> Failure:
    """The failure called `category`; KeyError lists the valid names."""
    try:
        return FAILURES[category]
    except KeyError:
        raise KeyError(
            f"unknown failure category {category!r}; valid: {', '.join(CATEGORIES)}"
        ) from None
