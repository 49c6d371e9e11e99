"""The reviewers' rubric: weighted criteria with 1/3/5 anchors, and red-flag checkboxes.

The default comes from the hiring guide the product grows out of (see ARCHITECTURE.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Criterion:
    """One scored criterion; also readable as a mapping (`c["name"]`) like the JSON spec."""

    name: str
    weight: float
    anchors: tuple[str, ...]
    description: str = ""

    def __getitem__(self, key: str) -> Any:
        if key == "anchors":
            return list(self.anchors)
        if key in ("name", "weight", "description"):
            return getattr(self, key)
        raise KeyError(key)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "weight": self.weight,
            "anchors": list(self.anchors),
            "description": self.description,
        }


@dataclass(frozen=True)
class Rubric:
    criteria: tuple[Criterion, ...]
    red_flags: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "criteria": [c.to_dict() for c in self.criteria],
            "red_flags": list(self.red_flags),
        }


DEFAULT_CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "Problem framing and business grounding",
        2,
        (
            "1: jumps to a model without stating the business question or the cost of errors",
            "3: states the goal and who uses the predictions",
            "5: ties the target, the metric and the decisions to business value and constraints",
        ),
    ),
    Criterion(
        "Data quality and feature engineering",
        2,
        (
            "1: uses the columns as given, ignores missing values, leakage and outliers",
            "3: checks missing values and distributions, builds sensible features",
            "5: finds data problems and leakage, justifies each feature with evidence",
        ),
    ),
    Criterion(
        "Methodology and validation",
        2,
        (
            "1: no validation, or tunes on the test data",
            "3: sound cross-validation and a baseline",
            "5: validation that matches deployment (from data collection to deployment), "
            "honest error analysis",
        ),
    ),
    Criterion(
        "Metric choice and trade-offs",
        1,
        (
            "1: reports one number without saying why it matters",
            "3: explains the metric and one trade-off (precision vs recall, or F1)",
            "5: chooses thresholds from the cost of errors and shows the trade-off curve",
        ),
    ),
    Criterion(
        "Production thinking",
        1,
        (
            "1: the work ends in the notebook",
            "3: mentions deployment and monitoring",
            "5: concrete plan for deployment, monitoring, drift detection and retraining",
        ),
    ),
    Criterion(
        "Communication",
        2,
        (
            "1: cannot say why the model decides what it decides",
            "3: explains results clearly to a technical reader",
            "5: explains model decisions to non-technical stakeholders, with limits and risks",
        ),
    ),
)

DEFAULT_RED_FLAGS: tuple[str, ...] = (
    "Algorithm focus without business grounding",
    "No monitoring or drift awareness",
    "Cannot explain why the model decides what it decides",
    "Ignores data quality",
)

DEFAULT_RUBRIC = Rubric(DEFAULT_CRITERIA, DEFAULT_RED_FLAGS)


def parse_rubric(table: dict[str, Any], fail: Any) -> Rubric:
    """Build a Rubric from the [rubric] table; `fail(message, key)` raises a SpecError."""
    unknown = sorted(set(table) - {"criteria", "red_flags"})
    if unknown:
        fail(f"unknown key {unknown[0]!r} in [rubric]; valid keys: criteria, red_flags", unknown[0])
    raw_criteria = table.get("criteria", [c.to_dict() for c in DEFAULT_CRITERIA])
    if not isinstance(raw_criteria, list) or not raw_criteria:
        fail("[rubric] criteria must be a non-empty list of tables", "criteria")
    criteria = []
    for index, item in enumerate(raw_criteria, 1):
        where = f"[rubric] criteria #{index}"
        if not isinstance(item, dict):
            fail(f"{where} must be a table {{ name, weight, anchors }}", "criteria")
        extra = sorted(set(item) - {"name", "weight", "anchors", "description"})
        if extra:
            fail(f"{where}: unknown key {extra[0]!r}; valid: name, weight, anchors", "criteria")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            fail(f"{where} needs a name (text)", "criteria")
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            fail(f"{where} ({name}): weight must be a positive number", "criteria")
        anchors = item.get("anchors", [])
        if not isinstance(anchors, list) or not all(isinstance(a, str) for a in anchors):
            fail(f"{where} ({name}): anchors must be a list of text", "criteria")
        description = item.get("description", "")
        if not isinstance(description, str):
            fail(f"{where} ({name}): description must be text", "criteria")
        criteria.append(Criterion(name.strip(), weight, tuple(anchors), description))
    names = [c.name for c in criteria]
    if len(set(names)) != len(names):
        fail("[rubric] criteria names must be unique", "criteria")
    flags = table.get("red_flags", list(DEFAULT_RED_FLAGS) if "criteria" not in table else [])
    if not isinstance(flags, list) or not all(isinstance(f, str) for f in flags):
        fail("[rubric] red_flags must be a list of text", "red_flags")
    return Rubric(tuple(criteria), tuple(flags))


def toml_text(rubric: Rubric = DEFAULT_RUBRIC) -> str:
    """The [rubric] table as TOML, for `heldout challenge new`."""
    lines = ["[rubric]", "criteria = ["]
    for c in rubric.criteria:
        anchors = ", ".join(_quote(a) for a in c.anchors)
        weight = int(c.weight) if float(c.weight).is_integer() else c.weight
        lines.append(f"  {{ name = {_quote(c.name)}, weight = {weight}, anchors = [{anchors}] }},")
    lines.append("]")
    lines.append("red_flags = [")
    lines += [f"  {_quote(flag)}," for flag in rubric.red_flags]
    lines.append("]")
    return "\n".join(lines) + "\n"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
