"""Train / public test / private test: seeded, stratified when asked, without row loops."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from heldout.challenges.errors import SourceError
from heldout.challenges.source import count_distinct

# A numeric target with more distinct values than this is stratified by quantile bins.
MAX_CLASSES = 20
QUANTILE_BINS = 10


@dataclass(frozen=True)
class Split:
    """Row indices (into the source table) of each part."""

    train: np.ndarray
    public: np.ndarray
    private: np.ndarray

    def without(self, rows: np.ndarray) -> Split:
        """The same split with some rows (suppressed by k-anonymity) removed."""
        return Split(
            np.setdiff1d(self.train, rows, assume_unique=True),
            np.setdiff1d(self.public, rows, assume_unique=True),
            np.setdiff1d(self.private, rows, assume_unique=True),
        )

    def counts(self) -> dict[str, int]:
        return {
            "train": len(self.train),
            "public_test": len(self.public),
            "private_test": len(self.private),
        }


def strata(target: pa.ChunkedArray) -> np.ndarray:
    """Integer stratum per row: the class, or a quantile bin for a continuous target."""
    is_number = pa.types.is_floating(target.type) or pa.types.is_integer(target.type)
    if is_number and count_distinct(target) > MAX_CLASSES:
        values = target.to_numpy()
        edges = np.unique(np.quantile(values, np.linspace(0, 1, QUANTILE_BINS + 1)[1:-1]))
        binned: np.ndarray = np.searchsorted(edges, values, side="right").astype(np.int64)
        return binned
    encoded = pc.dictionary_encode(target.combine_chunks())
    codes: np.ndarray = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    return codes


def split_rows(
    groups: np.ndarray, test_fraction: float, private_fraction: float, seed: int
) -> Split:
    """Split rows so that each group (one group = no stratification) keeps the fractions."""
    n = len(groups)
    rng = np.random.default_rng(seed)
    shuffled = rng.permutation(n)
    order = shuffled[np.argsort(groups[shuffled], kind="stable")]  # by group, random within
    sorted_groups = groups[order]
    labels, starts, sizes = np.unique(sorted_groups, return_index=True, return_counts=True)
    position = np.searchsorted(labels, sorted_groups)
    rank = np.arange(n) - starts[position]
    n_test = np.rint(sizes * test_fraction).astype(np.int64)
    n_private = np.rint(n_test * private_fraction).astype(np.int64)
    is_private = rank < n_private[position]
    is_test = rank < n_test[position]
    split = Split(
        train=np.sort(order[~is_test]),
        public=np.sort(order[is_test & ~is_private]),
        private=np.sort(order[is_private]),
    )
    if len(split.train) == 0 or len(split.public) == 0:
        raise SourceError(
            f"{n} row(s) are too few to split with test_fraction={test_fraction} and "
            f"private_fraction={private_fraction}: train and public test both need rows"
        )
    return split
