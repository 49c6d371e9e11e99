"""The source helpers that are not about bad input (that is test_bad_input.py)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from heldout.challenges.source import count_distinct


@pytest.mark.parametrize(
    "values",
    [
        ["a", "b", "a", None, None, "c"],
        ["only", "only"],
        [1.5, float("nan"), float("nan"), None, 1.5, -0.0],
        [3, 1, 2, 3],
    ],
)
def test_count_distinct_counts_non_null_values_like_arrow(values: list[object]) -> None:
    array = pa.array(values, type=pa.string() if values and isinstance(values[0], str) else None)
    chunked = pa.chunked_array([array.slice(0, 2), array.slice(2)])
    expected = pc.count_distinct(array).as_py()
    assert count_distinct(array) == expected
    assert count_distinct(chunked) == expected


def test_count_distinct_of_a_column_with_no_values_is_zero() -> None:
    """An all-empty CSV column reads as Arrow's null type, which count_distinct refuses."""
    assert count_distinct(pa.array([None, None])) == 0
    assert count_distinct(pa.chunked_array([pa.array([None])], type=pa.null())) == 0
    assert count_distinct(pa.array([], type=pa.int64())) == 0
