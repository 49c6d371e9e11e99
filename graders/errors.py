"""Grading errors; `str()` is a message a candidate understands."""


class GradingError(Exception):
    """Root of the graders' errors."""


class InvalidPredictions(GradingError):
    """The predictions file cannot be scored; the message names the problem and rows."""


class UnknownMetric(GradingError):
    """No metric of that name; the message lists the valid names."""
