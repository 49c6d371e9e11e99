"""Writing the artifacts: CSV bytes, deterministic zips, and the data dictionary README."""

from __future__ import annotations

import importlib
import struct
import zlib
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from heldout.challenges.errors import ChallengeError

# Fixed timestamps (1980-01-01 00:00, the zip epoch) and modes: the same build gives the same
# bytes, and so the same data hash.
_DOS_DATE = (1 << 5) | 1
_DOS_TIME = 0


Bytes: TypeAlias = "bytes | pa.Buffer"
"""What a file part may be: both support the buffer protocol, so nothing is copied."""


def csv_buffer(table: pa.Table, header: bool = True) -> pa.Buffer:
    sink = pa.BufferOutputStream()
    pcsv.write_csv(table, sink, pcsv.WriteOptions(include_header=header))
    return sink.getvalue()


@dataclass(frozen=True)
class Csv:
    """A table's CSV, written in row slices on a pool; the first part holds the header."""

    parts: list[Future[pa.Buffer]]
    rows: int  # per part

    @classmethod
    def start(cls, table: pa.Table, pool: Executor, rows: int = 100_000) -> Csv:
        starts = range(0, max(table.num_rows, 1), rows)
        return cls([pool.submit(csv_buffer, table.slice(s, rows), s == 0) for s in starts], rows)

    def result(self) -> list[pa.Buffer]:
        return [part.result() for part in self.parts]

    def lines(self, keep: np.ndarray, pool: Executor) -> list[Future[pa.Buffer | None]]:
        """The header and the records where `keep` is true, part by part (see select_lines)."""
        return [
            pool.submit(
                select_lines, part.result(), keep[i * self.rows : (i + 1) * self.rows], i == 0
            )
            for i, part in enumerate(self.parts)
        ]


def select_lines(csv: Bytes, keep: np.ndarray, header: bool = True) -> pa.Buffer | None:
    """The header line (when `header`) and the records where `keep` is true, in Arrow (no GIL);
    None when a value holds a line break, so that records and lines differ.

    The lines become a binary array over the CSV's own buffer (offsets at the line breaks),
    so choosing them is one filter. A line break inside a value adds a line, which the count
    shows; a lone carriage return is not a line break here, and stays inside its record.
    """
    ends = np.flatnonzero(np.frombuffer(csv, dtype=np.uint8) == 0x0A) + 1
    wanted = np.concatenate([np.ones(1, dtype=bool), keep]) if header else keep
    if len(ends) != len(wanted):
        return None
    offsets = np.concatenate([np.zeros(1, dtype=np.int64), ends])
    buffers = [None, pa.py_buffer(offsets), pa.py_buffer(csv)]
    lines = pa.Array.from_buffers(pa.large_binary(), len(ends), buffers)
    chosen = lines.filter(pa.array(wanted))
    bounds = np.frombuffer(chosen.buffers()[1], dtype=np.int64)
    start, stop = int(bounds[chosen.offset]), int(bounds[chosen.offset + len(chosen)])
    data = chosen.buffers()[2]
    return data.slice(start, stop - start) if data is not None else pa.py_buffer(b"")


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
    deflated: tuple[bytes, ...]

    @property
    def compressed_size(self) -> int:
        return sum(len(piece) for piece in self.deflated)


def compress(
    name: str, parts: Sequence[Bytes], pool: Executor, level: int = 1
) -> Callable[[], Member]:
    """Start deflating the file's `parts` in chunks on the pool; call the result for the Member.

    Chunks are views (no copy) and end with a full flush so their raw deflate streams join
    (as pigz does); deflate and crc32 release the GIL, so every member uses every core.
    """
    if isinstance(parts, bytes | bytearray | memoryview):
        raise TypeError("compress takes the file's parts: a list of buffers")
    chunks = [
        memoryview(part)[i : i + CHUNK] for part in parts for i in range(0, len(part), CHUNK)
    ] or [memoryview(b"")]
    last = len(chunks) - 1
    futures = [pool.submit(_deflate, chunk, level, i == last) for i, chunk in enumerate(chunks)]
    crc = pool.submit(_crc32, parts)

    def wait() -> Member:
        deflated = tuple(f.result() for f in futures)
        return Member(name, sum(len(part) for part in parts), crc.result(), deflated)

    return wait


def _crc32(parts: Sequence[Bytes]) -> int:
    value = 0
    for part in parts:
        value = _ZLIB.crc32(part, value)
    return int(value)


def _deflate(chunk: memoryview, level: int, final: bool) -> bytes:
    engine = _ZLIB.compressobj(level, _ZLIB.DEFLATED, -15)
    flush = _ZLIB.Z_FINISH if final else _ZLIB.Z_FULL_FLUSH
    return bytes(engine.compress(chunk) + engine.flush(flush))


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
            packed = member.compressed_size
            fields = (20, 0, 8, _DOS_TIME, _DOS_DATE, member.crc, packed, member.size)
            header = struct.pack("<IHHHHHIII", 0x04034B50, *fields)
            header += struct.pack("<HH", len(name), 0) + name
            out.write(header)
            for piece in member.deflated:
                out.write(piece)
            central += struct.pack("<IH", 0x02014B50, (3 << 8) | 20)
            central += struct.pack("<HHHHHIII", *fields)
            central += struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0o100644 << 16, offset)
            central += name
            offset += len(header) + packed
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
        f"`{target}`, one row per test row. Submissions are scored with `{metric}`. "
        "`sample_submission.csv` has the right shape; before you submit, "
        "`python check_predictions.py predictions.csv` (beside `data/`) runs the grader's "
        "checks on the rows of this `data/test.csv` and names the first problem.",
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
