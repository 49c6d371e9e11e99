"""Challenge authoring errors; `str()` names the file, key, column or row at fault.

ChallengeError                 root of the authoring errors
├── SpecError                  challenge.toml is malformed (file and line when known)
├── SourceError                the source table is unreadable, too big or inconsistent
├── PseudonymCollision         two values of a column got the same pseudonym
└── PrivacyError               the build would ship personal data
    ├── PIIFound               a column no rule names looks personal
    └── KAnonymityError        a quasi-identifier group is smaller than k
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class ChallengeError(Exception):
    """Root of the authoring errors."""


class SpecError(ChallengeError):
    """challenge.toml is malformed; carries the file and the line when known."""

    def __init__(self, message: str, path: Path | None = None, line: int | None = None) -> None:
        self.message = message
        self.path = path
        self.line = line
        where = ""
        if path is not None:
            where = f"{path.name}:{line}: " if line else f"{path.name}: "
        super().__init__(where + message)


class SourceError(ChallengeError):
    """The source table cannot be used: unreadable, too big, bad encoding, bad ids or labels."""


class PseudonymCollision(ChallengeError):
    """Two values of a pseudonymized column got the same pseudonym (or were the same value)."""


class PrivacyError(ChallengeError):
    """The build would ship personal data; nothing was written."""


class PIIFound(PrivacyError):
    """A column that no rule names contains something personal."""

    def __init__(
        self, column: str, kind: str, example: str, suggestion: str, others: list[str] | None = None
    ) -> None:
        self.column = column
        self.kind = kind
        self.example = example
        self.suggestion = suggestion
        self.others = others or []
        also = f". Also personal: {', '.join(self.others)}" if self.others else ""
        super().__init__(
            f"column {column!r} looks like personal data ({kind}, e.g. {example!r}) and no rule "
            f"names it; add a rule to [columns], e.g. {suggestion}{also}"
        )


class KAnonymityError(PrivacyError):
    """Some quasi-identifier combinations are shared by fewer than k rows."""

    def __init__(self, k: int, achieved: int, groups: list[dict[str, Any]]) -> None:
        self.k = k
        self.achieved = achieved
        self.groups = groups
        shown = "; ".join(
            ", ".join(f"{key}={value}" for key, value in group.items() if key != "rows")
            + f" -> {group['rows']} row(s)"
            for group in groups
        )
        super().__init__(
            f"k-anonymity not met: the smallest quasi-identifier group has {achieved} row(s), "
            f"k = {k} is required. Smallest groups: {shown}. Coarsen the quasi-identifiers "
            "(wider bins, shorter truncate) or set [privacy] suppress = true to drop those rows."
        )
