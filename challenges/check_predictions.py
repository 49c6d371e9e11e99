"""Check predictions.csv against data/test.csv before you submit: the grader's own checks.

Usage, next to the data/ folder of the bundle:  python check_predictions.py predictions.csv

Standard library only. It runs the checks the grader runs (graders/predictions.py), in the same
order and with the same messages, on the public test rows of data/test.csv. The platform runs
your notebook on more test rows than these, so predict every row of whatever test.csv it finds.
Exit 0 when the file would be accepted, 1 with the first problem otherwise (`--json` prints
{"ok", "kind", "message"}).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Filled in by the challenge build: id and target columns, what the metric needs, the classes.
CONFIG_JSON = '{"id": "id", "target": "target", "needs": "labels", "metric": "accuracy", "classes": [0, 1], "numeric": true, "int_ids": true}'  # noqa: E501

EXAMPLES = 5
_HEAD_BYTES = 64 * 1024
_NUMBER = re.compile(
    r"^\s*[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf|infinity|nan)\s*$", re.IGNORECASE
)
_INTEGER = re.compile(r"^[+-]?\d+$")
_MAGIC = {b"PK\x03\x04": "a zip archive", b"PAR1": "a Parquet file", b"\x80": "a pickle"}
# The texts the grader's CSV reader (Arrow) reads as missing in a numeric column.
_NULLS = frozenset(
    [
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "n/a",
        "nan",
        "null",
    ]
)


Row = tuple[str, str]


class Problem(Exception):
    """The first thing wrong with the file: `kind` is the grader's name for it."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def check(path: Path, test_csv: Path, config: dict[str, Any]) -> None:
    """Raise Problem with the grader's message for the first problem of `path`, if any."""
    name = path.name
    id_col, target = str(config["id"]), str(config["target"])
    keys = _test_ids(test_csv, id_col)
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError as exc:
        raise Problem(f"cannot open the predictions file: {exc.strerror}", "unreadable") from None
    _check_text(head, name)
    header = _header(head, name)
    _check_columns(header, id_col, target, name)
    rows = _rows(path, header, id_col, target, name)
    numeric = config["needs"] != "labels" or bool(config["numeric"])
    ids = [row[0] for row in rows]
    texts = [row[1] for row in rows]
    known = set(keys)
    public = [_key(i, config) in known for i in ids]
    if numeric:
        bad = [not (t in _NULLS or _NUMBER.match(t)) for t in texts]
        if any(bad):
            what = f"has {{count}} value(s) in {target!r} that are not numbers"
            raise _rows_problem(name, "not_numeric", bad, texts, what, public)
    if not rows:
        raise Problem(
            f"{name} has a header but no rows: expected {len(keys)} rows, one per test id.",
            "header_only",
        )
    order = _check_ids(name, [_key(i, config) for i in ids], keys, config)
    values: list[Any]
    if numeric:
        values = [None if t in _NULLS else float(t) for t in texts]
        blank = [v is None or not math.isfinite(v) for v in values]
        if any(blank):
            what = f"has {{count}} empty, NaN or infinite value(s) in {target!r}"
            raise _rows_problem(name, "empty_values", blank, values, what, public)
    else:
        values = texts
        empty = [not t.strip() for t in texts]
        if any(empty):
            what = f"has {{count}} empty {target!r}"
            raise _rows_problem(name, "empty_values", empty, None, what, public)
    _check_values(name, values, target, config, public)
    if config["metric"] == "rmsle":
        low = sorted(order[r] for r, v in enumerate(values) if v <= -1)
        if low:
            shown = ", ".join(str(_typed(keys[at], config)) for at in low[:EXAMPLES])
            raise Problem(
                f"{name} has {len(low)} value(s) in {target!r} at or below -1, for example "
                f"for ids {shown}; rmsle takes log(1 + prediction), so every prediction must "
                "be above -1.",
                "value_range",
            )


def _test_ids(test_csv: Path, id_col: str) -> list[str]:
    with test_csv.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, [])
        if id_col not in header:
            raise SystemExit(f"{test_csv} has no {id_col!r} column; run this next to data/")
        at = header.index(id_col)
        return [row[at] for row in reader if row]


def _key(value: str, config: dict[str, Any]) -> str:
    """An id as the grader compares it: whole-number ids by value ("0100" is 100)."""
    if config["int_ids"] and _INTEGER.match(value):
        return str(int(value))
    return value


def _check_text(head: bytes, name: str) -> None:
    if not head.strip():
        raise Problem(f"{name} is empty: write a header line and one row per test id.", "empty")
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise Problem(f"{name} is not a CSV file: it is {what}.", "not_csv")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte character cut at the end is fine
            raise Problem(
                f"{name} is not a CSV file: it is not UTF-8 text (byte {exc.start}).", "not_csv"
            ) from None
        text = head[: exc.start].decode("utf-8")
    if "\x00" in text:
        raise Problem(f"{name} is not a CSV file: it holds binary data.", "not_csv")
    start = text.lstrip("\ufeff \t\r\n")[:1]
    if start in ("{", "["):
        raise Problem(f"{name} is not a CSV file: it looks like JSON.", "not_csv")
    if start == "<":
        raise Problem(f"{name} is not a CSV file: it looks like HTML/XML.", "not_csv")


def _header(head: bytes, name: str) -> list[str]:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = text.splitlines()[0] if text.splitlines() else ""
    try:
        return next(csv.reader(io.StringIO(first)))
    except (csv.Error, StopIteration):
        message = f"{name} is not a CSV file: its first line cannot be read as CSV."
        raise Problem(message, "not_csv") from None


def _check_columns(header: Sequence[str], id_col: str, target: str, name: str) -> None:
    wanted = f"{id_col},{target}"
    if id_col not in header and target not in header and len(header) < 2:
        first = ",".join(header)
        hint = " (separate the columns with commas)" if ";" in first or "\t" in first else ""
        raise Problem(f"{name} is not a CSV file with the columns {wanted}{hint}.", "not_csv")
    if id_col not in header:
        message = f"{name} has no {id_col!r} column; the header must be {wanted}."
        raise Problem(message, "missing_id_column")
    if target not in header:
        message = f"{name} has no {target!r} column; the header must be {wanted}."
        raise Problem(message, "missing_target_column")


def _rows(path: Path, header: list[str], id_col: str, target: str, name: str) -> list[Row]:
    """(id, value) text of each record; blank lines are skipped, as the grader's reader does."""
    with path.open("rb") as handle:
        text = handle.read().decode("utf-8", errors="replace").lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)
    id_at, target_at = header.index(id_col), header.index(target)
    found: list[Row] = []
    for record in reader:
        if not record:
            continue
        if len(record) != len(header):
            raise Problem(
                f"{name} is not a well-formed CSV file: Expected {len(header)} columns, "
                f"got {len(record)}.",
                "malformed",
            )
        found.append((record[id_at], record[target_at]))
    return found


def _check_ids(name: str, ids: list[str], keys: list[str], config: dict[str, Any]) -> list[int]:
    """Every test id exactly once; returns each row's position in data/test.csv."""
    position = {key: at for at, key in enumerate(keys)}
    positions = [position.get(i, -1) for i in ids]
    unknown = [p < 0 for p in positions]
    if any(unknown):
        empty = [not i.strip() or (config["int_ids"] and i in _NULLS) for i in ids]
        if any(empty):
            raise _rows_problem(name, "empty_ids", empty, None, "has {count} row(s) without an id")
        raise _rows_problem(
            name, "unknown_ids", unknown, None, "has {count} id(s) that are not test ids"
        )
    lines: dict[int, list[int]] = {}
    for row, at in enumerate(positions):
        lines.setdefault(at, []).append(row)
    repeated = {at: rows for at, rows in lines.items() if len(rows) > 1}
    if repeated:
        groups: dict[int, list[int]] = {}
        for row, at in enumerate(positions):
            if at in repeated and (at in groups or len(groups) < EXAMPLES):
                groups.setdefault(at, []).append(row)
        shown = [
            f"{_show([_typed(ids[rows[0]], config)])} "
            f"(lines {', '.join(str(r + 2) for r in rows[:4])})"
            for rows in groups.values()
        ]
        raise Problem(
            f"{name} has {len(repeated)} id(s) more than once, for example: "
            f"{'; '.join(shown)}. Keep one prediction per id.",
            "duplicate_ids",
        )
    missing = [key for at, key in enumerate(keys) if at not in lines]
    if missing:
        examples = _show([_typed(key, config) for key in missing[:EXAMPLES]])
        raise Problem(
            f"{name} is missing {len(missing)} of the {len(keys)} test ids, for example: "
            f"{examples}. Predict every row of test.csv.",
            "missing_ids",
        )
    return positions


def _typed(value: str, config: dict[str, Any]) -> Any:
    return int(value) if config["int_ids"] and _INTEGER.match(value) else value


def _check_values(
    name: str, values: list[Any], target: str, config: dict[str, Any], public: list[bool]
) -> None:
    needs = config["needs"]
    if needs == "probabilities":
        outside = [v < 0 or v > 1 for v in values]
        if any(outside):
            what = (
                f"has {{count}} value(s) in {target!r} outside [0, 1]; this metric needs "
                "the probability of the positive class"
            )
            raise _rows_problem(name, "probability_range", outside, values, what, public)
    elif needs == "labels":
        classes = config["classes"]
        allowed = {float(c) for c in classes} if config["numeric"] else set(classes)
        unknown = [v not in allowed for v in values]
        if any(unknown):
            hint = ""
            if config["numeric"] and all(0 <= v <= 1 for v in values):
                hint = " (this metric needs predicted classes, not probabilities)"
            shown = _show([float(c) if config["numeric"] else c for c in classes[:10]])
            what = f"has {{count}} value(s) in {target!r} that are not classes"
            what += f"; the classes include {shown}{hint}"
            raise _rows_problem(name, "unknown_labels", unknown, values, what, public)


def _rows_problem(
    name: str,
    kind: str,
    mask: list[bool],
    column: list[Any] | None,
    what: str,
    public: list[bool] | None = None,
) -> Problem:
    """`what` with the count, and the first offending lines (with values on public rows)."""
    count = sum(mask)
    told = what.format(count=count)
    if public is None:
        rows = [r for r, bad in enumerate(mask) if bad][:EXAMPLES]
        return Problem(f"{name} {told}, for example {'; '.join(_lines(rows, None))}.", kind)
    seen = [r for r, bad in enumerate(mask) if bad and public[r]][:EXAMPLES]
    if seen:
        return Problem(f"{name} {told}, for example {'; '.join(_lines(seen, column))}.", kind)
    return Problem(
        f"{name} {told}, all of them on hidden test rows (not in your data/test.csv).", kind
    )


def _lines(rows: list[int], column: list[Any] | None) -> list[str]:
    if column is None:
        return [f"line {row + 2}" for row in rows]
    return [f"line {row + 2}: {_show([column[row]])}" for row in rows]


def _show(values: Sequence[Any]) -> str:
    def one(value: Any) -> str:
        if value is None:
            return "(empty)"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return repr(value) if isinstance(value, str) else str(value)

    return ", ".join(one(v) for v in values)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in args
    args = [a for a in args if a != "--json"]
    if len(args) != 1:
        sys.stderr.write("usage: python check_predictions.py predictions.csv [--json]\n")
        return 2
    config = json.loads(CONFIG_JSON)
    here = Path(__file__).resolve().parent
    try:
        check(Path(args[0]), here / "data" / "test.csv", config)
    except Problem as problem:
        if as_json:
            _say(json.dumps({"ok": False, "kind": problem.kind, "message": str(problem)}))
        else:
            _say(f"{problem} [{problem.kind}]")
        return 1
    message = f"{args[0]} looks right: it would be accepted for scoring."
    _say(json.dumps({"ok": True, "kind": None, "message": message}) if as_json else message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
