"""Grading errors; `str()` is the full message, for admins and `heldout grade`.

GradingError                 root of the graders' errors (a challenge or metric set up wrongly)
├── InvalidPredictions       the candidate's predictions file cannot be scored; `public` is the
│                            message safe to show the candidate (no private test row in it)
└── UnknownMetric            no metric of that name; the message lists the valid names
"""

from __future__ import annotations


class GradingError(Exception):
    """Root of the graders' errors."""


class InvalidPredictions(GradingError):
    """The predictions file cannot be scored; the message names the problem and rows.

    `kind` names the problem for programs (e.g. "missing_ids"), `count` how many rows or ids
    it affects and `examples` the first offending rows or ids as shown in the message.
    `public` is the candidate-safe message: it names only public test ids, quotes values only
    from rows whose id is a public test id, and nothing else the file holds (a notebook that
    saw the private rows' features could have written them anywhere in it). Without it the
    message itself is safe.
    """

    def __init__(
        self,
        message: str,
        kind: str = "invalid",
        count: int = 0,
        examples: tuple[str, ...] = (),
        public: str | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.count = count
        self.examples = examples
        self.public = message if public is None else public


class UnknownMetric(GradingError):
    """No metric of that name; the message lists the valid names."""
