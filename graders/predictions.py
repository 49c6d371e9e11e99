"""Read a candidate's predictions CSV and align it to the answer key, explaining every rejection.

Each problem raises InvalidPredictions with one message naming the count and the first
offending rows (as file lines: the header is line 1). Checks run in the order a candidate
would fix them: the file, its columns, its ids, then its values.

The file was written by a notebook that saw every test row's features, so anything in it may be
derived from private rows. The candidate-safe message (`InvalidPredictions.public`) therefore
quotes values only from rows whose id is a public test id, gives rows with unknown ids as line
numbers only, names only public test ids, and without a public example gives the count alone.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from numpy.typing import NDArray

from heldout.graders.answers import Answers
from heldout.graders.errors import InvalidPredictions

Source = Path | str | bytes
EXAMPLES = 5
_HEAD_BYTES = 64 * 1024
_NUMBER = r"^\s*[+-]?((\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|inf|infinity|nan)\s*$"
_MAGIC = {b"PK\x03\x04": "a zip archive", b"PAR1": "a Parquet file", b"\x80": "a pickle"}


def load(
    source: Source,
    answers: Answers,
    needs: str,
    name: str = "predictions.csv",
) -> NDArray[Any]:
    """The predicted values in the answer key's row order, or InvalidPredictions."""
    head = _head(source)
    _check_text(head, name)
    header = _header(head, name)
    _check_columns(header, answers, name)
    numeric = needs != "labels" or answers.numeric
    table = _read(source, answers, numeric, name)
    if table.num_rows == 0:
        raise InvalidPredictions(
            f"{name} has a header but no rows: expected {answers.n} rows, one per test id.",
            "header_only",
        )
    positions = _join(table.column(answers.id_col).combine_chunks(), answers, name)
    public = ~_private(answers)[positions]  # every row's id is a test id by now
    column = table.column(answers.target_col).combine_chunks()
    values = _values(column, answers, needs, name, public)
    aligned = np.empty(answers.n, dtype=values.dtype)
    aligned[positions] = values
    return aligned


# ---------------------------------------------------------------- the file and its header


def _head(source: Source) -> bytes:
    if isinstance(source, bytes):
        return source[:_HEAD_BYTES]
    try:
        with open(source, "rb") as handle:
            return handle.read(_HEAD_BYTES)
    except OSError as exc:
        message = f"cannot open the predictions file: {exc.strerror}"
        raise InvalidPredictions(message, "unreadable") from None


def _check_text(head: bytes, name: str) -> None:
    if not head.strip():
        raise InvalidPredictions(
            f"{name} is empty: write a header line and one row per test id.", "empty"
        )
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            raise InvalidPredictions(f"{name} is not a CSV file: it is {what}.", "not_csv")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # a multi-byte character cut at the end is fine
            raise InvalidPredictions(
                f"{name} is not a CSV file: it is not UTF-8 text (byte {exc.start}).", "not_csv"
            ) from None
        text = head[: exc.start].decode("utf-8")
    if "\x00" in text:
        raise InvalidPredictions(f"{name} is not a CSV file: it holds binary data.", "not_csv")
    start = text.lstrip("\ufeff \t\r\n")[:1]
    if start in ("{", "["):
        raise InvalidPredictions(f"{name} is not a CSV file: it looks like JSON.", "not_csv")
    if start == "<":
        raise InvalidPredictions(f"{name} is not a CSV file: it looks like HTML/XML.", "not_csv")


def _header(head: bytes, name: str) -> list[str]:
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    first = text.splitlines()[0] if text.splitlines() else ""
    try:
        return next(csv.reader(io.StringIO(first)))
    except (csv.Error, StopIteration):
        raise InvalidPredictions(
            f"{name} is not a CSV file: its first line is {_clip(first)!r}.",
            "not_csv",
            public=f"{name} is not a CSV file: its first line cannot be read as CSV.",
        ) from None


def _check_columns(header: Sequence[str], answers: Answers, name: str) -> None:
    id_col, target_col = answers.id_col, answers.target_col
    wanted = f"{id_col},{target_col}"
    found = ", ".join(repr(c) for c in header[:10])
    if id_col not in header and target_col not in header and len(header) < 2:
        first = ",".join(header)
        hint = " (separate the columns with commas)" if ";" in first or "\t" in first else ""
        raise InvalidPredictions(
            f"{name} is not a CSV file with the columns {wanted}: its first line is "
            f"{_clip(first)!r}{hint}.",
            "not_csv",
            public=f"{name} is not a CSV file with the columns {wanted}{hint}.",
        )
    if id_col not in header:
        raise InvalidPredictions(
            f"{name} has no {id_col!r} column (found {found}); the header must be {wanted}.",
            "missing_id_column",
            public=f"{name} has no {id_col!r} column; the header must be {wanted}.",
        )
    if target_col not in header:
        others = [c for c in header if c != id_col]
        hint = f"; rename {others[0]!r} to {target_col!r}" if len(others) == 1 else ""
        raise InvalidPredictions(
            f"{name} has no {target_col!r} column (found {found}){hint}; "
            f"the header must be {wanted}.",
            "missing_target_column",
            public=f"{name} has no {target_col!r} column; the header must be {wanted}.",
        )


def _clip(text: str, size: int = 60) -> str:
    return text if len(text) <= size else text[:size] + "..."


# ---------------------------------------------------------------- parsing


def _read(source: Source, answers: Answers, numeric: bool, name: str) -> pa.Table:
    """Parse the two columns: ids as the answer key's type and numbers as float64 when possible."""
    id_type = answers.ids.type if pa.types.is_integer(answers.ids.type) else pa.string()
    target_type = pa.float64() if numeric else pa.string()
    for ids in dict.fromkeys([id_type, pa.string()]):
        try:
            return _parse(source, answers, ids, target_type)
        except pa.ArrowInvalid as exc:
            if "conversion error" not in str(exc):
                raise _malformed(exc, name) from None
    # The target did not convert to numbers: read it as text to say which rows.
    table = _parse(source, answers, pa.string(), pa.string())
    public = _public_rows(table.column(answers.id_col).combine_chunks(), answers)
    _check_numbers(table.column(answers.target_col).combine_chunks(), answers, name, public)
    raise InvalidPredictions(f"{name}: {answers.target_col!r} must hold numbers.", "not_numeric")


def _parse(source: Source, answers: Answers, id_type: pa.DataType, target: pa.DataType) -> Any:
    data = pa.BufferReader(source) if isinstance(source, bytes) else str(source)
    options = pacsv.ConvertOptions(
        include_columns=[answers.id_col, answers.target_col],
        column_types={answers.id_col: id_type, answers.target_col: target},
        strings_can_be_null=False,
    )
    return pacsv.read_csv(data, convert_options=options)


def _malformed(exc: Exception, name: str) -> InvalidPredictions:
    detail = str(exc).removeprefix("CSV parse error: ")
    # Arrow quotes the offending row after a colon ("Expected 2 columns, got 3: a,b,c").
    shape = detail.partition(":")[0].strip()
    return InvalidPredictions(
        f"{name} is not a well-formed CSV file: {_clip(detail, 120)}.",
        "malformed",
        public=f"{name} is not a well-formed CSV file: {_clip(shape, 80)}.",
    )


def _check_numbers(text: pa.Array, answers: Answers, name: str, public: NDArray[np.bool_]) -> None:
    blank = pc.is_in(text, value_set=pa.array(pacsv.ConvertOptions().null_values))
    number = pc.match_substring_regex(text, _NUMBER, ignore_case=True)
    bad = ~(blank.to_numpy(zero_copy_only=False) | number.to_numpy(zero_copy_only=False))
    if bad.any():
        raise _rows_error(
            name,
            "not_numeric",
            bad,
            text,
            f"has {{count}} value(s) in {answers.target_col!r} that are not numbers",
            public,
        )


# ---------------------------------------------------------------- ids


def _join(ids: pa.Array, answers: Answers, name: str) -> NDArray[np.intp]:
    """For each prediction row, its row in the answer key; every test id exactly once."""
    keys = answers.ids
    if ids.type != keys.type:
        ids, keys = ids.cast(pa.string()), keys.cast(pa.string())
    positions = pc.fill_null(pc.index_in(ids, value_set=keys), -1).to_numpy()
    unknown = positions < 0
    counts = np.bincount(positions[~unknown], minlength=answers.n)
    if unknown.any() or (counts != 1).any():
        answers.check_unique()
    if unknown.any():
        empty = pc.is_null(ids).to_numpy(zero_copy_only=False)
        if pa.types.is_string(ids.type):
            empty |= pc.equal(pc.utf8_trim_whitespace(ids), "").to_numpy(zero_copy_only=False)
        # Ids and values of these rows may be derived from private features: lines only.
        if empty.any():
            raise _rows_error(name, "empty_ids", empty, None, "has {count} row(s) without an id")
        raise _rows_error(
            name, "unknown_ids", unknown, ids, "has {count} id(s) that are not test ids"
        )
    repeated = counts[positions] > 1
    if repeated.any():
        _raise_duplicates(name, repeated, positions, ids, answers)
    missing = np.flatnonzero(counts == 0)
    if missing.size:
        shown = _show(keys.take(pa.array(missing[:EXAMPLES])).to_pylist())
        what = f"{name} is missing {missing.size} of the {answers.n} test ids"
        seen = missing[~_private(answers)[missing]]
        if seen.size:
            public = (
                f"{what}, for example: {_show(keys.take(pa.array(seen[:EXAMPLES])).to_pylist())}."
            )
        else:
            public = f"{what}, all of them hidden test rows (not in your data/test.csv)."
        raise InvalidPredictions(
            f"{what}, for example: {shown}. Predict every row of test.csv.",
            "missing_ids",
            int(missing.size),
            tuple(shown.split(", ")),
            public=f"{public} Predict every row of test.csv.",
        )
    return np.asarray(positions, dtype=np.intp)


def _private(answers: Answers) -> NDArray[np.bool_]:
    """Which answer-key rows are private (none when the key has no split)."""
    if answers.private is None:
        return np.zeros(answers.n, dtype=bool)
    return np.asarray(answers.private, dtype=bool)


def _public_rows(ids: pa.Array, answers: Answers) -> NDArray[np.bool_]:
    """For each predictions row: whether its id is a public test id (its values may be shown)."""
    keys = answers.ids
    if ids.type != keys.type:
        ids, keys = ids.cast(pa.string()), keys.cast(pa.string())
    positions = pc.fill_null(pc.index_in(ids, value_set=keys), -1).to_numpy()
    known: NDArray[np.bool_] = positions >= 0
    public = known.copy()
    public[known] = ~_private(answers)[positions[known]]
    return public


def _raise_duplicates(
    name: str,
    repeated: NDArray[np.bool_],
    positions: NDArray[Any],
    ids: pa.Array,
    answers: Answers,
) -> None:
    rows = np.flatnonzero(repeated)
    private = _private(answers)
    examples = _duplicate_examples(rows, positions, ids)
    public_rows = rows[~private[positions[rows]]]
    shown = _duplicate_examples(public_rows, positions, ids)
    count = int(np.unique(positions[rows]).size)
    what = f"{name} has {count} id(s) more than once"
    if shown:
        public = f"{what}, for example: {'; '.join(shown)}."
    else:
        public = f"{what}, all of them hidden test rows (not in your data/test.csv)."
    raise InvalidPredictions(
        f"{what}, for example: {'; '.join(examples)}. Keep one prediction per id.",
        "duplicate_ids",
        count,
        examples,
        public=f"{public} Keep one prediction per id.",
    )


def _duplicate_examples(
    rows: NDArray[Any], positions: NDArray[Any], ids: pa.Array
) -> tuple[str, ...]:
    """The first repeated ids, each with the first lines it appears on."""
    groups: dict[int, list[int]] = {}
    for row in rows:
        position = int(positions[row])
        if position in groups or len(groups) < EXAMPLES:
            groups.setdefault(position, []).append(int(row))
    return tuple(
        f"{_show([ids[lines[0]].as_py()])} (lines {', '.join(str(r + 2) for r in lines[:4])})"
        for lines in groups.values()
    )


# ---------------------------------------------------------------- values


def _values(
    column: pa.Array, answers: Answers, needs: str, name: str, public: NDArray[np.bool_]
) -> NDArray[Any]:
    target = answers.target_col
    if pa.types.is_string(column.type):
        values = np.asarray(column.to_pylist(), dtype=object)
        empty = pc.equal(pc.utf8_trim_whitespace(column), "").to_numpy(zero_copy_only=False)
        if empty.any():
            raise _rows_error(
                name, "empty_values", empty, None, f"has {{count}} empty {target!r}", public
            )
    else:
        values = column.to_numpy(zero_copy_only=False).astype(np.float64)
        blank = ~np.isfinite(values)
        if blank.any():
            raise _rows_error(
                name,
                "empty_values",
                blank,
                column,
                f"has {{count}} empty, NaN or infinite value(s) in {target!r}",
                public,
            )
    if needs == "probabilities":
        outside = (values < 0) | (values > 1)
        if outside.any():
            raise _rows_error(
                name,
                "probability_range",
                outside,
                column,
                f"has {{count}} value(s) in {target!r} outside [0, 1]; this metric needs "
                "the probability of the positive class",
                public,
            )
    elif needs == "labels":
        classes = np.unique(answers.target)
        if answers.numeric:
            classes = classes.astype(np.float64)
        unknown = ~np.isin(values, classes)
        if unknown.any():
            shown = _show(classes[:10].tolist())
            # The candidate is told only the classes of the public rows.
            seen = np.unique(answers.target[~_private(answers)])
            seen_shown = _show((seen.astype(np.float64) if answers.numeric else seen)[:10].tolist())
            hint = ""
            if answers.numeric and ((values >= 0) & (values <= 1)).all():
                hint = " (this metric needs predicted classes, not probabilities)"
            what = f"has {{count}} value(s) in {target!r} that are not classes"
            raise _rows_error(
                name,
                "unknown_labels",
                unknown,
                column,
                f"{what}; the classes are {shown}{hint}",
                public,
                f"{what}; the classes include {seen_shown}{hint}",
            )
    return values


def _rows_error(
    name: str,
    kind: str,
    mask: NDArray[np.bool_],
    column: pa.Array | None,
    what: str,
    public: NDArray[np.bool_] | None = None,
    what_public: str | None = None,
) -> InvalidPredictions:
    """`what` with the count filled in, and the first offending lines (with their values).

    `public` marks the rows whose id is a public test id: the candidate-safe message shows
    only those (with values). Without it (ids not test ids) that message gives lines only.
    """
    rows = np.flatnonzero(mask)
    examples = _lines(rows[:EXAMPLES], column)
    message = what.format(count=rows.size)
    told = (what if what_public is None else what_public).format(count=rows.size)
    if public is None:
        safe = f"{name} {told}, for example {'; '.join(_lines(rows[:EXAMPLES], None))}."
    else:
        seen = np.flatnonzero(mask & public)[:EXAMPLES]
        if seen.size:
            safe = f"{name} {told}, for example {'; '.join(_lines(seen, column))}."
        else:
            safe = f"{name} {told}, all of them on hidden test rows (not in your data/test.csv)."
    return InvalidPredictions(
        f"{name} {message}, for example {'; '.join(examples)}.",
        kind,
        int(rows.size),
        examples,
        public=safe,
    )


def _lines(rows: NDArray[Any], column: pa.Array | None) -> tuple[str, ...]:
    if column is None:
        return tuple(f"line {row + 2}" for row in rows)
    shown = column.take(pa.array(rows)).to_pylist()
    return tuple(f"line {row + 2}: {_show([v])}" for row, v in zip(rows, shown, strict=True))


def _show(values: Sequence[Any]) -> str:
    def one(value: Any) -> str:
        if value is None:
            return "(empty)"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return repr(value) if isinstance(value, str) else str(value)

    return ", ".join(one(v) for v in values)
