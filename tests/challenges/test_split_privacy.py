"""Split fractions (stratified, seeded) and k-anonymity (stop or suppress)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from heldout.challenges import build, load_spec
from heldout.challenges.errors import KAnonymityError
from heldout.challenges.privacy import k_anonymity
from heldout.challenges.split import split_rows, strata
from tests.challenges.conftest import Kit, people, read_member


def test_stratified_split_keeps_each_class_fraction() -> None:
    labels = np.array([0] * 700 + [1] * 250 + [2] * 50)
    split = split_rows(labels, 0.3, 0.5, seed=7)
    parts = [split.train, split.public, split.private]
    assert sorted(np.concatenate(parts).tolist()) == list(range(1000))  # a partition
    for label, size in ((0, 700), (1, 250), (2, 50)):
        test = np.isin(np.flatnonzero(labels == label), np.concatenate(parts[1:])).sum()
        private = (labels[split.private] == label).sum()
        assert test == round(size * 0.3)
        assert private == round(round(size * 0.3) * 0.5)


def test_split_is_seeded() -> None:
    labels = np.zeros(500, dtype=np.int64)
    one, two = split_rows(labels, 0.2, 0.5, 1), split_rows(labels, 0.2, 0.5, 1)
    assert np.array_equal(one.private, two.private)
    assert not np.array_equal(one.private, split_rows(labels, 0.2, 0.5, 2).private)


def test_continuous_target_is_stratified_by_quantiles() -> None:
    values = pa.chunked_array([pa.array(np.linspace(0, 1, 1000))])
    groups = strata(values)
    assert len(set(groups.tolist())) == 10
    split = split_rows(groups, 0.3, 0.5, 3)
    test = np.sort(np.concatenate([split.public, split.private]))
    assert np.histogram(test, bins=10, range=(0, 1000))[0].tolist() == [30] * 10


def test_too_few_rows_to_split() -> None:
    from heldout.challenges.errors import SourceError

    with pytest.raises(SourceError, match="too few to split"):
        split_rows(np.zeros(2, dtype=np.int64), 0.1, 0.5, 1)


def test_k_anonymity_lists_the_smallest_groups() -> None:
    data = pa.table({"age": ["a"] * 6 + ["b"] * 2 + ["c"], "zip": ["1"] * 9})
    result = k_anonymity(data, ("age", "zip"), 3, np.arange(9))
    assert result.achieved == 1
    assert result.smallest == [
        {"age": "c", "zip": "1", "rows": 1},
        {"age": "b", "zip": "1", "rows": 2},
    ]
    assert sorted(result.suppress.tolist()) == [6, 7, 8]


def test_k_counts_only_shipped_rows_but_suppresses_everywhere() -> None:
    data = pa.table({"g": ["x"] * 5 + ["y"] * 3})
    result = k_anonymity(data, ("g",), 3, np.array([0, 1, 2, 3, 5]))  # one y shipped
    assert result.achieved == 1 and sorted(result.suppress.tolist()) == [5, 6, 7]


def test_build_stops_below_k_showing_groups(kit: Kit, tmp_path: Path) -> None:
    root = kit(replace={"suppress = true": "suppress = false", "k = 5": "k = 60"})
    with pytest.raises(KAnonymityError) as caught:
        build(load_spec(root), "s", tmp_path / "out")
    message = str(caught.value)
    assert "k = 60 is required" in message and "age=" in message and "row(s)" in message
    assert "suppress = true" in message
    assert not (tmp_path / "out").exists()


def test_build_suppresses_and_reports_how_many(kit: Kit, tmp_path: Path) -> None:
    root = kit(replace={"k = 5": "k = 25"})
    output = build(load_spec(root), "s", tmp_path / "out")
    assert output.report["rows_suppressed"] > 0
    assert output.report["k_achieved"] >= 25
    in_sandbox = pd.concat(
        [
            read_member(output.sandbox_zip, "train.csv"),
            read_member(output.sandbox_zip, "test.csv"),
        ]
    )
    assert in_sandbox.groupby(["age", "zip", "gender"]).size().min() >= 25
    assert len(in_sandbox) + output.report["rows_suppressed"] == len(people())


def test_a_private_row_unique_on_the_quasi_identifiers_fails_the_build(
    kit: Kit, tmp_path: Path
) -> None:
    """Counted over train + public test alone, this kit passed: the sandbox holds the private
    test rows too, and a notebook can print them."""
    frame = people()
    labels = pa.chunked_array([pa.array(frame["churned"])])
    private_row = int(split_rows(strata(labels), 0.3, 0.5, 7).private[0])
    frame.loc[private_row, "zip"] = "99999"  # "999" after truncation: a group of one
    root = kit(frame=frame, replace={"suppress = true": "suppress = false"})
    with pytest.raises(KAnonymityError) as caught:
        build(load_spec(root), "s", tmp_path / "out")
    assert "zip='999'" in str(caught.value) or "zip=999" in str(caught.value)
