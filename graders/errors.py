"""Grading errors; `str()` is a message a candidate understands.

GradingError                 root of the graders' errors (a challenge or metric set up wrongly)
├── InvalidPredictions       the candidate's predictions file cannot be scored
└── UnknownMetric            no metric of that name; the message lists the valid names
"""

from __future__ import annotations


class GradingError(Exception):
    """Root of the graders' errors."""


class InvalidPredictions(GradingError):
    """The predictions file cannot be scored; the message names the problem and rows.

    `kind` names the problem for programs (e.g. "missing_ids"), `count` how many rows or ids
    it affects and `examples` the first offending rows or ids as shown in the message.
    """

    def __init__(
        self, message: str, kind: str = "invalid", count: int = 0, examples: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.count = count
        self.examples = examples


class UnknownMetric(GradingError):
    """No metric of that name; the message lists the valid names."""
