"""challenge.toml: parsed into a ChallengeSpec and validated with precise, located errors."""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from heldout.challenges import source as source_mod
from heldout.challenges.errors import SpecError
from heldout.challenges.limits import ATTEMPTS_PER_SUBMISSION, LimitsSpec
from heldout.challenges.located import Reader
from heldout.challenges.rubric import DEFAULT_RUBRIC, Rubric, parse_rubric
from heldout.challenges.transforms import TRANSFORMS, Rule, parse_rule

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
TOP_KEYS = {
    "slug": str,
    "title": str,
    "brief": str,
    "starter": str,
    "data": dict,
    "split": dict,
    "metric": dict,
    "columns": dict,
    "privacy": dict,
    "limits": dict,
    "rubric": dict,
}


@dataclass(frozen=True)
class DataSpec:
    source: Path
    id: str
    target: str
    encoding: str = "utf-8"
    delimiter: str = ","
    max_mb: int = 1024


@dataclass(frozen=True)
class SplitSpec:
    test_fraction: float = 0.3
    private_fraction: float = 0.5
    stratify: bool = False
    seed: int = 0


@dataclass(frozen=True)
class MetricSpec:
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    custom: str | None = None  # "metric.py:function" in the kit (trusted admin code)
    higher_is_better: bool = True  # custom metrics only
    needs: str = "labels"  # custom metrics only: labels | probabilities | values


@dataclass(frozen=True)
class PrivacySpec:
    quasi_identifiers: tuple[str, ...] = ()
    k: int = 5
    suppress: bool = False


@dataclass(frozen=True)
class ChallengeSpec:
    """Everything challenge.toml says, with paths resolved against the kit directory."""

    path: Path
    slug: str
    title: str
    brief: str
    brief_path: Path
    starter_path: Path | None
    data: DataSpec
    split: SplitSpec
    metric: MetricSpec
    columns: tuple[Rule, ...]
    privacy: PrivacySpec
    limits: LimitsSpec
    rubric: Rubric
    source_columns: tuple[str, ...] = ()

    @property
    def root(self) -> Path:
        return self.path.parent

    def rule_for(self, column: str) -> Rule | None:
        return next((rule for rule in self.columns if rule.column == column), None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serializable form (stored with each version); paths relative to the kit."""
        return {
            "slug": self.slug,
            "title": self.title,
            "brief": self.brief_path.name,
            "starter": self.starter_path.name if self.starter_path else None,
            "data": {
                "source": _relative(self.data.source, self.root),
                "id": self.data.id,
                "target": self.data.target,
                "encoding": self.data.encoding,
                "delimiter": self.data.delimiter,
                "max_mb": self.data.max_mb,
            },
            "split": vars(self.split).copy(),
            "metric": {
                "name": self.metric.name,
                "params": dict(self.metric.params),
                "custom": self.metric.custom,
                "higher_is_better": self.metric.higher_is_better,
                "needs": self.metric.needs,
            },
            "columns": {rule.column: rule.to_toml_value() for rule in self.columns},
            "privacy": {
                "quasi_identifiers": list(self.privacy.quasi_identifiers),
                "k": self.privacy.k,
                "suppress": self.privacy.suppress,
            },
            "limits": vars(self.limits).copy(),
            "rubric": self.rubric.to_dict(),
        }


def load_spec(kit_dir_or_toml: Path) -> ChallengeSpec:
    """Read and validate challenge.toml (a kit directory or the file itself)."""
    path = Path(kit_dir_or_toml)
    if path.is_dir():
        path = path / "challenge.toml"
    if not path.is_file():
        raise SpecError(f"no challenge.toml at {path}")
    path = path.resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read {path}: {exc}") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None) or _line_from_message(str(exc))
        raise SpecError(f"not valid TOML: {exc}", path, line) from None
    return _parse(raw, Reader(path, text))


def _parse(raw: dict[str, Any], r: Reader) -> ChallengeSpec:
    root = r.path.parent
    r.check_keys(raw, "", TOP_KEYS)
    slug = r.get(raw, "", "slug", str)
    if not SLUG.match(slug):
        r.fail(
            f"slug {slug!r} must be lower-case letters, digits and '-', 1-63 characters",
            None,
            "slug",
        )
    title = r.get(raw, "", "title", str).strip()
    if not title:
        r.fail("title must not be empty", None, "title")
    brief_name = r.get(raw, "", "brief", str, "brief.md")
    brief_path = _kit_file(r, root, brief_name, None, "brief")
    brief = brief_path.read_text(encoding="utf-8")
    starter_name = r.get(raw, "", "starter", str, None)
    starter_path = None
    if starter_name is not None:
        starter_path = _kit_file(r, root, starter_name, None, "starter")
        _check_notebook(r, starter_path)

    data = _parse_data(r, root, r.get(raw, "", "data", dict))
    columns = source_mod.read_header(data.source, data.encoding, data.delimiter)
    for key in ("id", "target"):
        name = getattr(data, key)
        if name not in columns:
            r.fail(
                f"[data] {key} column {name!r} is not in {data.source.name}; "
                f"its columns are: {', '.join(columns)}",
                "data",
                key,
            )
    if data.id == data.target:
        r.fail("[data] id and target must be different columns", "data", "target")

    split = _parse_split(r, r.get(raw, "", "split", dict, {}))
    metric = _parse_metric(r, root, r.get(raw, "", "metric", dict))
    rules = _parse_columns(r, r.get(raw, "", "columns", dict, {}), columns, data)
    privacy = _parse_privacy(r, r.get(raw, "", "privacy", dict, {}), columns, rules, data)
    limits = _parse_limits(r, r.get(raw, "", "limits", dict, {}))
    rubric_table = r.get(raw, "", "rubric", dict, None)
    rubric = (
        DEFAULT_RUBRIC
        if rubric_table is None
        else parse_rubric(rubric_table, lambda message, key: r.fail(message, "rubric", key))
    )
    return ChallengeSpec(
        path=r.path,
        slug=slug,
        title=title,
        brief=brief,
        brief_path=brief_path,
        starter_path=starter_path,
        data=data,
        split=split,
        metric=metric,
        columns=rules,
        privacy=privacy,
        limits=limits,
        rubric=rubric,
        source_columns=tuple(columns),
    )


def _parse_data(r: Reader, root: Path, table: dict[str, Any]) -> DataSpec:
    allowed = {k: None for k in ("source", "id", "target", "encoding", "delimiter", "max_mb")}
    r.check_keys(table, "data", allowed)
    source = _kit_file(r, root, r.get(table, "data", "source", str), "data", "source", link_ok=True)
    if not source.name.lower().endswith(source_mod.SUFFIXES):
        r.fail(
            f"[data] source {source.name!r} must be one of: {', '.join(source_mod.SUFFIXES)}",
            "data",
            "source",
        )
    encoding = r.get(table, "data", "encoding", str, "utf-8")
    try:
        "".encode(encoding)
    except LookupError:
        r.fail(f"[data] encoding {encoding!r} is not a known text encoding", "data", "encoding")
    delimiter = r.get(table, "data", "delimiter", str, ",")
    if len(delimiter) != 1:
        r.fail("[data] delimiter must be one character", "data", "delimiter")
    max_mb = r.get(table, "data", "max_mb", int, 1024)
    if max_mb <= 0:
        r.fail("[data] max_mb must be positive", "data", "max_mb")
    return DataSpec(
        source=source,
        id=r.get(table, "data", "id", str),
        target=r.get(table, "data", "target", str),
        encoding=encoding,
        delimiter=delimiter,
        max_mb=max_mb,
    )


def _parse_split(r: Reader, table: dict[str, Any]) -> SplitSpec:
    allowed = {"test_fraction": None, "private_fraction": None, "stratify": None, "seed": None}
    r.check_keys(table, "split", allowed)
    test = float(r.get(table, "split", "test_fraction", (int, float), 0.3))
    private = float(r.get(table, "split", "private_fraction", (int, float), 0.5))
    if not 0 < test < 1:
        r.fail(
            f"[split] test_fraction must be between 0 and 1 (exclusive), got {test}",
            "split",
            "test_fraction",
        )
    if not 0 <= private < 1:
        r.fail(
            f"[split] private_fraction must be at least 0 and below 1, got {private}",
            "split",
            "private_fraction",
        )
    return SplitSpec(
        test_fraction=test,
        private_fraction=private,
        stratify=r.get(table, "split", "stratify", bool, False),
        seed=r.get(table, "split", "seed", int, 0),
    )


def metric_names() -> list[str]:
    """Names in the graders' metric registry."""
    from heldout.graders import METRICS

    return sorted(METRICS)


def _parse_metric(r: Reader, root: Path, table: dict[str, Any]) -> MetricSpec:
    from heldout.graders import METRICS, GradingError, load_custom_metric

    r.check_keys(
        table,
        "metric",
        {"name": None, "params": None, "custom": None, "higher_is_better": None, "needs": None},
    )
    name = r.get(table, "metric", "name", str)
    params = r.get(table, "metric", "params", dict, {})
    custom = r.get(table, "metric", "custom", str, None)
    higher = r.get(table, "metric", "higher_is_better", bool, True)
    needs = r.get(table, "metric", "needs", str, "labels")
    if custom is not None:
        file_name, _, function = custom.partition(":")
        if not function.isidentifier():
            r.fail('[metric] custom must look like "metric.py:function"', "metric", "custom")
        _kit_file(r, root, file_name, "metric", "custom")
        if needs not in ("labels", "probabilities", "values"):
            r.fail("[metric] needs must be labels, probabilities or values", "metric", "needs")
        try:  # load it now: a typo in the admin's function fails the build, not a grading
            load_custom_metric(root, custom, higher, needs, name=name)
        except GradingError as exc:
            r.fail(f"[metric] custom: {exc}", "metric", "custom")
    elif name not in METRICS:
        r.fail(
            f"unknown metric {name!r}; valid metrics: {', '.join(metric_names())}",
            "metric",
            "name",
        )
    else:
        try:
            METRICS[name].resolve(params)
        except GradingError as exc:
            r.fail(f"[metric] params: {exc}", "metric", "params")
    return MetricSpec(name=name, params=params, custom=custom, higher_is_better=higher, needs=needs)


def _parse_columns(
    r: Reader, table: dict[str, Any], columns: list[str], data: DataSpec
) -> tuple[Rule, ...]:
    rules = []
    for column, value in table.items():
        if column not in columns:
            r.fail(
                f"[columns] has a rule for {column!r}, which is not a column of "
                f"{data.source.name}; its columns are: {', '.join(columns)}",
                "columns",
                column,
            )
        try:
            rule = parse_rule(column, value)
        except ValueError as exc:
            r.fail(f"[columns] {column}: {exc}", "columns", column)
        if column in (data.id, data.target) and rule.kind in ("drop", "mask"):
            r.fail(
                f"[columns] {column} is the [data] {'id' if column == data.id else 'target'} "
                f"column and cannot be {rule.kind}ped",
                "columns",
                column,
            )
        by = rule.params.get("by")
        if by is not None and by not in columns:
            r.fail(f"[columns] {column}: by = {by!r} is not a column", "columns", column)
        rules.append(rule)
    return tuple(rules)


def _parse_privacy(
    r: Reader,
    table: dict[str, Any],
    columns: list[str],
    rules: tuple[Rule, ...],
    data: DataSpec,
) -> PrivacySpec:
    r.check_keys(table, "privacy", {"quasi_identifiers": None, "k": None, "suppress": None})
    qis = r.get(table, "privacy", "quasi_identifiers", list, [])
    dropped = {rule.column for rule in rules if rule.kind == "drop"}
    for qi in qis:
        if not isinstance(qi, str):
            r.fail(
                "[privacy] quasi_identifiers must be column names", "privacy", "quasi_identifiers"
            )
        if qi not in columns:
            r.fail(
                f"[privacy] quasi-identifier {qi!r} is not a column of {data.source.name}",
                "privacy",
                "quasi_identifiers",
            )
        if qi in dropped:
            r.fail(
                f"[privacy] quasi-identifier {qi!r} is dropped by [columns]; remove it from the "
                "list (a dropped column identifies no one)",
                "privacy",
                "quasi_identifiers",
            )
    k = r.get(table, "privacy", "k", int, 5)
    if k < 1:
        r.fail(f"[privacy] k must be at least 1, got {k}", "privacy", "k")
    return PrivacySpec(
        quasi_identifiers=tuple(qis),
        k=k,
        suppress=r.get(table, "privacy", "suppress", bool, False),
    )


def _parse_limits(r: Reader, table: dict[str, Any]) -> LimitsSpec:
    keys = ("timeout_s", "memory_mb", "cpus", "submissions", "attempts")
    r.check_keys(table, "limits", dict.fromkeys(keys))
    submissions = r.get(table, "limits", "submissions", int, LimitsSpec.submissions)
    limits = LimitsSpec(
        timeout_s=r.get(table, "limits", "timeout_s", int, LimitsSpec.timeout_s),
        memory_mb=r.get(table, "limits", "memory_mb", int, LimitsSpec.memory_mb),
        cpus=r.get(table, "limits", "cpus", (int, float), LimitsSpec.cpus),
        submissions=submissions,
        attempts=r.get(table, "limits", "attempts", int, submissions * ATTEMPTS_PER_SUBMISSION),
    )
    for key, value in vars(limits).items():
        if value <= 0:
            r.fail(f"[limits] {key} must be positive, got {value}", "limits", key)
    if limits.attempts < limits.submissions:
        r.fail(
            f"[limits] attempts ({limits.attempts}) must be at least submissions "
            f"({limits.submissions}): every scored submission is also an attempt",
            "limits",
            "attempts",
        )
    return limits


def _kit_file(
    r: Reader, root: Path, name: str, table: str | None, key: str, link_ok: bool = False
) -> Path:
    """A file named in challenge.toml, lexically inside the kit. Only `link_ok` files (the
    data source: data kept elsewhere, out of git) may be symbolic links; everything else
    (brief, starter, custom metric code) must be a regular file that really is inside the
    kit, or `brief.md -> /proc/self/environ` would publish the build's environment."""
    path = Path(os.path.normpath(root / name))
    if not path.is_relative_to(root):
        r.fail(f"{key} {name!r} must stay inside the kit directory", table, key)
    if not path.exists() and not path.is_symlink():
        r.fail(f"{key} file {name!r} does not exist (looked for {path})", table, key)
    if not link_ok and Path(os.path.realpath(path)) != path:
        r.fail(
            f"{key} {name!r} is a symbolic link (or inside a linked folder); put the file "
            "itself in the kit",
            table,
            key,
        )
    if not path.is_file():
        r.fail(f"{key} {name!r} is not a regular file", table, key)
    return path


def _check_notebook(r: Reader, path: Path) -> None:
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        r.fail(f"starter {path.name!r} is not a readable notebook: {exc}", None, "starter")
    if not isinstance(notebook, dict) or "cells" not in notebook:
        r.fail(f"starter {path.name!r} is not a Jupyter notebook (no cells)", None, "starter")


def _relative(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def _line_from_message(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


__all__ = ["TRANSFORMS", "ChallengeSpec", "load_spec", "metric_names"]
