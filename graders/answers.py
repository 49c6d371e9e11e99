"""The hidden answer key as arrays: ids to join on, the true target, and which rows are private."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from heldout.graders.errors import GradingError

if TYPE_CHECKING:
    import pandas as pd

SPLIT = "split"
SPLITS = ("public", "private")


@dataclass(frozen=True)
class Answers:
    """One row per test id: `ids` (int64 or string), `target`, and `private` (None: all public)."""

    ids: pa.Array
    target: NDArray[Any]
    private: NDArray[np.bool_] | None
    id_col: str
    target_col: str

    @property
    def n(self) -> int:
        return int(self.target.size)

    @property
    def numeric(self) -> bool:
        return self.target.dtype.kind in "iuf"

    def check_unique(self) -> None:
        """Repeated ids in the key are the challenge's fault; checked when a join goes wrong.

        (A clean join proves uniqueness: every key row was matched exactly once.)
        """
        if len(pc.unique(self.ids)) != len(self.ids):
            raise GradingError(f"the answer key's {self.id_col!r} column has repeated ids")

    @classmethod
    def from_table(
        cls,
        answers: pd.DataFrame | pa.Table,
        id_col: str | None = None,
        target_col: str | None = None,
    ) -> Answers:
        """Read a DataFrame or Arrow table; id defaults to the first column, target to the next."""
        table = answers if isinstance(answers, pa.Table) else _from_pandas(answers)
        columns = table.column_names
        id_col = id_col or (columns[0] if columns else "")
        if target_col is None:
            others = [c for c in columns if c not in (id_col, SPLIT)]
            target_col = others[0] if others else ""
        for role, column in (("id", id_col), ("target", target_col)):
            if column not in columns:
                raise GradingError(
                    f"the answer key has no {role} column {column!r}; "
                    f"its columns: {', '.join(columns) or 'none'}"
                )
        ids = _join_key(table.column(id_col).combine_chunks())
        if ids.null_count:
            raise GradingError(f"the answer key's {id_col!r} column has empty ids")
        target_column = table.column(target_col)
        if target_column.null_count:
            raise GradingError(f"the answer key has {target_column.null_count} empty labels")
        target = _target(target_column.combine_chunks())
        private = None
        if SPLIT in columns and SPLIT not in (id_col, target_col):
            split = table.column(SPLIT).cast(pa.string())
            private = pc.equal(split, "private").to_numpy(zero_copy_only=False)
            public = pc.equal(split, "public").to_numpy(zero_copy_only=False)
            if split.null_count or not (private | public).all():
                raise GradingError("the answer key's split column must hold public or private")
        return cls(ids, target, private, id_col, target_col)

    @classmethod
    def from_csv(
        cls, path: Path, id_col: str | None = None, target_col: str | None = None
    ) -> Answers:
        """Read the answer key from a CSV file (the `heldout grade --labels` file)."""
        import pyarrow.csv as pacsv

        try:
            table = pacsv.read_csv(str(path))
        except (OSError, pa.ArrowInvalid) as exc:
            raise GradingError(f"cannot read the labels file {path}: {exc}") from None
        return cls.from_table(table, id_col, target_col)


def _from_pandas(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


def _join_key(ids: pa.Array) -> pa.Array:
    """Integer ids join as int64 (also floats that are whole numbers); anything else as text."""
    if pa.types.is_integer(ids.type):
        return ids.cast(pa.int64())
    if pa.types.is_floating(ids.type):
        values = ids.to_numpy(zero_copy_only=False)
        if np.isfinite(values).all() and (values == np.round(values)).all():
            return pa.array(values.astype(np.int64))
    return ids.cast(pa.string())


def _target(column: pa.Array) -> NDArray[Any]:
    if pa.types.is_boolean(column.type):
        return np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.int64)
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        return np.asarray(column.to_numpy(zero_copy_only=False))
    return np.asarray(column.cast(pa.string()).to_pylist(), dtype=object)
