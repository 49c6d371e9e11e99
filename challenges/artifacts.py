"""Writing the artifacts: CSV bytes, deterministic zips, and the data dictionary README."""

from __future__ import annotations

import importlib
import itertools
import struct
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from heldout.challenges.errors import ChallengeError

# Fixed timestamps (1980-01-01 00:00, the zip epoch) and modes: the same build gives the same
# bytes, and so the same data hash.
_DOS_DATE = (1 << 5) | 1
_DOS_TIME = 0


def csv_bytes(table: pa.Table, header: bool = True) -> bytes:
    sink = pa.BufferOutputStream()
    pcsv.write_csv(table, sink, pcsv.WriteOptions(include_header=header))
    return bytes(sink.getvalue())


def single_line(table: pa.Table) -> bool:
    """No text value holds a line break, so each CSV record is exactly one line."""
    texts = [
        c for c in table.columns if pa.types.is_string(c.type) or pa.types.is_large_string(c.type)
    ]
    return not any(
        pc.any(pc.match_substring(c, brk)).as_py() for c in texts for brk in ("\n", "\r")
    )


def select_lines(csv: bytes, keep: np.ndarray) -> bytes:
    """The header and the records where `keep` is true (records are single lines)."""
    lines = csv.split(b"\n")
    header, records = lines[0], lines[1 : 1 + len(keep)]
    chosen = itertools.compress(records, keep.tolist())
    return b"\n".join([header, *chosen, b""])


def csv_parallel(table: pa.Table, pool: Executor, rows: int = 200_000) -> Callable[[], bytes]:
    """Start writing the CSV in row slices on the pool; call the result for the bytes."""
    starts = range(0, max(table.num_rows, 1), rows)
    parts = [pool.submit(csv_bytes, table.slice(s, rows), s == 0) for s in starts]
    return lambda: b"".join(part.result() for part in parts)


CHUNK = 8 * 1024 * 1024
# ISA-L's deflate writes the same format about three times faster than zlib when installed.
try:
    _ZLIB: Any = importlib.import_module("isal.isal_zlib")
except ImportError:
    _ZLIB = zlib
_ZIP64_LIMIT = 0xFFFFFFFF


@dataclass(frozen=True)
class Member:
    """One file of an archive, already compressed (raw deflate), so archives can share it."""

    name: str
    size: int
    crc: int
    deflated: bytes


def compress(name: str, data: bytes, pool: Executor, level: int = 1) -> Callable[[], Member]:
    """Start deflating `data` in chunks on the pool; call the result to wait for the Member.

    Chunks end with a full flush so their raw deflate streams join (as pigz does); zlib and
    crc32 release the GIL, so every member's chunks use every core.
    """
    parts = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)] or [b""]
    last = len(parts) - 1
    futures = [pool.submit(_deflate, part, level, i == last) for i, part in enumerate(parts)]
    crc = pool.submit(_ZLIB.crc32, data)

    def wait() -> Member:
        return Member(name, len(data), crc.result(), b"".join(f.result() for f in futures))

    return wait


def _deflate(part: bytes, level: int, final: bool) -> bytes:
    engine = _ZLIB.compressobj(level, _ZLIB.DEFLATED, -15)
    flush = _ZLIB.Z_FINISH if final else _ZLIB.Z_FULL_FLUSH
    return bytes(engine.compress(part) + engine.flush(flush))


def write_zip(path: Path, members: Iterable[Member]) -> None:
    """A zip of pre-deflated members with fixed dates and modes (same input, same bytes)."""
    central = bytearray()
    count = 0
    with path.open("wb") as out:
        offset = 0
        for member in members:
            if member.size > _ZIP64_LIMIT or offset > _ZIP64_LIMIT:
                raise ChallengeError(
                    f"{member.name} would pass 4 GiB inside the archive (no zip64 support); "
                    "use a smaller source or sample it"
                )
            name = member.name.encode()
            fields = (20, 0, 8, _DOS_TIME, _DOS_DATE, member.crc, len(member.deflated), member.size)
            header = struct.pack("<IHHHHHIII", 0x04034B50, *fields)
            header += struct.pack("<HH", len(name), 0) + name
            out.write(header)
            out.write(member.deflated)
            central += struct.pack("<IH", 0x02014B50, (3 << 8) | 20)
            central += struct.pack("<HHHHHIII", *fields)
            central += struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0o100644 << 16, offset)
            central += name
            offset += len(header) + len(member.deflated)
            count += 1
        out.write(central)
        out.write(struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), offset, 0))


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
        "| column | type | role | missing | how it was anonymized |",
        "|---|---|---|---|---|",
    ]
    for column in columns:
        role = {id_column: "id", target: "target"}.get(column["column"], "feature")
        lines.append(
            f"| `{column['column']}` | {column['type']} | {role} | {column['missing']} "
            f"| {column['description']} |"
        )
    lines += [
        "",
        "The data was anonymized before you received it: ids are pseudonyms, some columns "
        "were removed, coarsened, shifted or noised as described above.",
        "",
    ]
    return "\n".join(lines)
