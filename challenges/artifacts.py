"""Writing the artifacts: CSV bytes, deterministic zips, and the data dictionary README."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv

# Fixed timestamps and modes: the same build gives the same bytes (and the same data hash).
_EPOCH = (1980, 1, 1, 0, 0, 0)


def csv_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pcsv.write_csv(table, sink, pcsv.WriteOptions(include_header=True))
    return bytes(sink.getvalue())


def write_zip(path: Path, members: Iterable[tuple[str, bytes]], level: int = 6) -> None:
    """A zip whose bytes depend only on its members (fixed dates, modes and order)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=level) as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data, compresslevel=level)


def type_name(kind: pa.DataType) -> str:
    if pa.types.is_boolean(kind):
        return "boolean"
    if pa.types.is_integer(kind):
        return "integer"
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return "number"
    if pa.types.is_date(kind):
        return "date"
    if pa.types.is_timestamp(kind):
        return "datetime"
    return "text"


def data_readme(
    title: str,
    id_column: str,
    target: str,
    metric: str,
    columns: list[dict[str, Any]],
    counts: dict[str, int],
) -> str:
    """README.md of the candidate bundle: the files, each column, and what to submit."""
    lines = [
        f"# {title}: the data",
        "",
        "| file | rows | what |",
        "|---|---|---|",
        f"| `data/train.csv` | {counts['train']} | training rows, with the target `{target}` |",
        f"| `data/test.csv` | {counts['public_test']} | test rows: features only, no target |",
        "",
        "Your notebook is run on the platform with `data/train.csv` and a `data/test.csv` that "
        "holds more test rows than this one (some are scored only for reviewers), so predict "
        "every row of whatever `data/test.csv` it finds.",
        "",
        f"Write `predictions.csv` beside the notebook with the columns `{id_column}` and "
        f"`{target}`, one row per test row. Submissions are scored with `{metric}`.",
        "",
        "## Columns",
        "",
        "| column | type | role | distinct values | missing | how it was anonymized |",
        "|---|---|---|---|---|---|",
    ]
    for column in columns:
        role = {id_column: "id", target: "target"}.get(column["column"], "feature")
        lines.append(
            f"| `{column['column']}` | {column['type']} | {role} | {column['after_distinct']} "
            f"| {column['missing']} | {column['description']} |"
        )
    lines += [
        "",
        "The data was anonymized before you received it: ids are pseudonyms, some columns "
        "were removed, coarsened, shifted or noised as described above.",
        "",
    ]
    return "\n".join(lines)
