"""The source table: CSV or Parquet, read into Arrow with clear errors for bad input."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from heldout.challenges.errors import SourceError

SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")


def _is_parquet(path: Path) -> bool:
    return path.name.lower().endswith((".parquet", ".pq"))


def read_header(path: Path, encoding: str = "utf-8", delimiter: str = ",") -> list[str]:
    """Column names only (cheap), so challenge.toml can be checked against them."""
    try:
        if _is_parquet(path):
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if path.name.lower().endswith(".gz"):
            import gzip

            with gzip.open(path, "rb") as stream:
                raw = stream.readline()
        else:
            with path.open("rb") as stream:  # bytes: a bad byte further down is not our concern
                raw = stream.readline()
        first = raw.decode(encoding).lstrip("\ufeff")
    except UnicodeDecodeError:
        raise SourceError(
            f"{path.name}: the header line is not valid {encoding}; save the file as UTF-8 or "
            'set [data] encoding (e.g. "latin-1")'
        ) from None
    except (OSError, pa.ArrowException, EOFError) as exc:
        raise SourceError(f"cannot read {path.name}: {_first_line(exc)}") from None
    if not first.strip():
        raise SourceError(f"{path.name} is empty: no header line")
    names = next(csv.reader([first], delimiter=delimiter))
    return [name.strip() for name in names]


def read_table(
    path: Path,
    encoding: str = "utf-8",
    delimiter: str = ",",
    max_mb: int = 1024,
    text_columns: tuple[str, ...] = (),
) -> pa.Table:
    """The whole table; raises SourceError naming the problem (size, encoding, shape).

    `text_columns` are read as text even when they look numeric, so "02134" keeps its zero.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise SourceError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    if size > max_mb * 1024 * 1024:
        raise SourceError(
            f"{path.name} is {size / 2**20:.0f} MB, above the {max_mb} MB limit; "
            "raise [data] max_mb if this machine has the memory for it"
        )
    if size == 0:
        raise SourceError(f"{path.name} is empty")
    try:
        if _is_parquet(path):
            table = _read_parquet(path)
        else:
            table = _read_csv(path, encoding, delimiter, text_columns)
    except MemoryError:
        raise SourceError(f"{path.name} does not fit in memory; use a sample") from None
    if table.num_rows == 0:
        raise SourceError(f"{path.name} has a header but no rows")
    names = [name.strip() for name in table.column_names]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise SourceError(f"{path.name} has duplicated column names: {', '.join(duplicated)}")
    return table.rename_columns(names)


def _read_parquet(path: Path) -> pa.Table:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise SourceError(f"cannot read {path.name} as Parquet: {_first_line(exc)}") from None


def _read_csv(path: Path, encoding: str, delimiter: str, text_columns: tuple[str, ...]) -> pa.Table:
    """Arrow reads the file itself (no copy through Python; .gz by its extension)."""
    import pyarrow.csv as pcsv

    if b"\x00" in _head(path):
        raise SourceError(f"{path.name} looks binary (NUL bytes), not a CSV text file")
    utf8 = encoding.lower().replace("-", "").replace("_", "") == "utf8"
    try:
        table = pcsv.read_csv(
            path,
            read_options=pcsv.ReadOptions(encoding="utf8" if utf8 else encoding),
            parse_options=pcsv.ParseOptions(delimiter=delimiter),
            convert_options=pcsv.ConvertOptions(
                strings_can_be_null=True,
                column_types={name: pa.string() for name in text_columns},
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        if isinstance(exc, UnicodeDecodeError) or "UTF8" in str(exc) or "UTF-8" in str(exc):
            _as_utf8(path, _raw(path), encoding)
        raise SourceError(f"{path.name} is not a well-formed CSV: {_first_line(exc)}") from None
    except OSError as exc:
        raise SourceError(f"cannot read {path.name}: {_first_line(exc)}") from None
    # Arrow reads text that is not valid UTF-8 as binary: find the line for the message.
    if any(pa.types.is_binary(field.type) for field in table.schema):
        _as_utf8(path, _raw(path), encoding)
    return table


def _raw(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.lower().endswith(".gz"):
        import gzip

        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise SourceError(f"{path.name} is not a readable gzip file: {exc}") from None
    return data


def _head(path: Path, size: int = 65536) -> bytes:
    try:
        if path.name.lower().endswith(".gz"):
            import gzip

            with gzip.open(path, "rb") as stream:
                return stream.read(size)
        with path.open("rb") as stream:
            return stream.read(size)
    except OSError as exc:
        raise SourceError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    except EOFError as exc:
        raise SourceError(f"{path.name} is a truncated gzip file: {exc}") from None


def _as_utf8(path: Path, raw: bytes, encoding: str) -> bytes:
    """Decode to check; a decoding error names the line and the offending byte."""
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        bad = raw[exc.start : exc.start + 1].hex()
        hint = (
            'save it as UTF-8 or set [data] encoding (e.g. "latin-1")'
            if encoding.lower().replace("-", "") in ("utf8", "utf8sig")
            else "check [data] encoding"
        )
        raise SourceError(
            f"{path.name} is not valid {encoding}: byte 0x{bad} on line {line}; {hint}"
        ) from None
    return text.encode("utf-8")


def count_distinct(values: pa.Array | pa.ChunkedArray) -> int:
    """Distinct non-null values. Arrow's unique() is about twice as fast as its count_distinct
    aggregate on a million values (hash table either way); a null is one of its values."""
    return len(pc.unique(values)) - (1 if values.null_count else 0)


def check_ids_and_target(
    table: pa.Table, name: str, id_col: str, target: str, unique: bool = True
) -> None:
    """Refuse missing or duplicated ids and an unusable target, naming rows by number.

    `unique=False` leaves out the duplicate check (check_unique_ids) for a caller that learns
    it more cheaply: distinct ids have distinct pseudonyms.
    """
    ids = table.column(id_col)
    if ids.null_count:
        first = _first_row(pc.is_null(ids))
        raise SourceError(
            f"{name}: id column {id_col!r} has {ids.null_count} missing value(s) "
            f"(first at data row {first}); every row needs an id"
        )
    if pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type):
        empty = pc.match_substring_regex(ids, r"^\s*$")
        if pc.any(empty).as_py():
            raise SourceError(
                f"{name}: id column {id_col!r} has an empty value at data row {_first_row(empty)}"
            )
    if unique:
        check_unique_ids(table, name, id_col)
    labels = table.column(target)
    if labels.null_count:
        first = _first_row(pc.is_null(labels))
        raise SourceError(
            f"{name}: target column {target!r} has {labels.null_count} missing value(s) "
            f"(first at data row {first}); drop or fill those rows first"
        )
    classes = count_distinct(labels)
    if classes < 2:
        only = labels[0].as_py()
        raise SourceError(
            f"{name}: target column {target!r} has a single value ({only!r}); "
            "there is nothing to predict"
        )


def check_unique_ids(table: pa.Table, name: str, id_col: str) -> None:
    ids = table.column(id_col)
    unique = count_distinct(ids)
    if unique != table.num_rows:
        counts = pc.value_counts(ids)
        values = counts.field("values")
        dupes = pc.filter(values, pc.greater(counts.field("counts"), 1))
        shown = ", ".join(repr(v) for v in dupes.slice(0, 3).to_pylist())
        raise SourceError(
            f"{name}: id column {id_col!r} has {table.num_rows - unique} duplicated value(s), "
            f"e.g. {shown}; ids must be unique"
        )


def _first_row(mask: pa.ChunkedArray | pa.Array) -> int:
    """1-based data row number of the first true value."""
    return int(pc.index(mask, True).as_py()) + 1


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
