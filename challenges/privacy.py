"""k-anonymity over the quasi-identifiers of what candidates receive (train + public test)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


@dataclass(frozen=True)
class KResult:
    """Smallest group among shipped rows, the rows to suppress, and the smallest groups."""

    achieved: int
    suppress: np.ndarray  # row indices (any part) whose group is below k among shipped rows
    smallest: list[dict[str, Any]] = field(default_factory=list)


def group_ids(table: pa.Table, columns: tuple[str, ...]) -> np.ndarray:
    """One integer per row identifying its combination of values (nulls are a value)."""
    combined = np.zeros(table.num_rows, dtype=np.int64)
    span = 1
    for name in columns:
        encoded = pc.dictionary_encode(table.column(name).combine_chunks())
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64) + 1
        width = len(encoded.dictionary) + 1
        if span * width >= 2**40:  # re-factorize (a sort) only when the key would grow too big
            combined = np.unique(combined, return_inverse=True)[1].astype(np.int64)
            span = int(combined.max()) + 1
        combined = combined * width + codes
        span *= width
    if span > 4 * max(table.num_rows, 1):  # keep bincount's array small
        combined = np.unique(combined, return_inverse=True)[1].astype(np.int64)
    return combined


def k_anonymity(
    table: pa.Table, columns: tuple[str, ...], k: int, shipped: np.ndarray, show: int = 5
) -> KResult:
    """Group sizes counted over `shipped` rows; rows of groups smaller than k are listed."""
    if not columns or len(shipped) == 0:
        return KResult(achieved=len(shipped), suppress=np.empty(0, dtype=np.int64))
    ids = group_ids(table, columns)
    counts = np.bincount(ids[shipped], minlength=int(ids.max()) + 1)
    present = counts[counts > 0]
    achieved = int(present.min())
    row_counts = counts[ids]
    small = np.flatnonzero((row_counts > 0) & (row_counts < k))
    smallest: list[dict[str, Any]] = []
    if achieved < k:
        groups = np.flatnonzero((counts > 0) & (counts < k))
        groups = groups[np.argsort(counts[groups], kind="stable")][:show]
        first_row = {int(g): int(np.flatnonzero(ids[shipped] == g)[0]) for g in groups}
        for group in groups:
            row = int(shipped[first_row[int(group)]])
            values = {name: table.column(name)[row].as_py() for name in columns}
            smallest.append({**values, "rows": int(counts[group])})
    return KResult(achieved=achieved, suppress=small, smallest=smallest)
