"""InvalidPredictions.public: what a candidate may read names only public test ids and values.

The answer key has five public ids (pub0..pub4) and five private ones (SECRET0..SECRET4); a
notebook that saw every row's features could write private ids or values anywhere in its file.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pytest

from heldout.graders import InvalidPredictions, grade

PUBLIC = [f"pub{n}" for n in range(5)]
PRIVATE = [f"SECRET{n}" for n in range(5)]
IDS = PUBLIC + PRIVATE
LABELS = [0, 1, 0, 1, 0, 1, 0, 1, 0, 1]


def key(target: list[float] | list[int] | None = None) -> pd.DataFrame:
    return pd.DataFrame(
        {"cid": IDS, "y": target or LABELS, "split": ["public"] * 5 + ["private"] * 5}
    )


def rows(pairs: Sequence[tuple[str, object]]) -> bytes:
    return ("cid,y\n" + "".join(f"{i},{v}\n" for i, v in pairs)).encode()


def good() -> list[tuple[str, object]]:
    return list(zip(IDS, LABELS, strict=True))


def rejection(
    data: bytes, metric: str = "accuracy", answers: pd.DataFrame | None = None
) -> InvalidPredictions:
    with pytest.raises(InvalidPredictions) as caught:
        grade(data, key() if answers is None else answers, metric, confidence=False, plots=False)
    return caught.value


def test_missing_private_ids_are_counted_but_never_named() -> None:
    exc = rejection(rows(good()[:5]))
    assert "SECRET0" in str(exc)  # the admin's message keeps the example
    assert "SECRET" not in exc.public
    assert "missing 5 of the 10" in exc.public and "hidden test rows" in exc.public


def test_missing_mixed_ids_name_only_the_public_ones() -> None:
    exc = rejection(rows([p for p in good() if p[0] not in ("pub1", "SECRET2")]))
    assert "pub1" in exc.public and "SECRET" not in exc.public
    assert "SECRET2" in str(exc)


def test_unknown_ids_show_line_numbers_only() -> None:
    exc = rejection(rows([*good(), ("LEAKED-7.25", 1)]))
    assert exc.kind == "unknown_ids"
    assert "LEAKED" in str(exc)
    assert "LEAKED" not in exc.public and "line 12" in exc.public


def test_duplicate_private_ids_give_only_the_count() -> None:
    exc = rejection(rows([*good(), ("SECRET3", 0)]))
    assert exc.kind == "duplicate_ids"
    assert "SECRET3" in str(exc)
    assert "SECRET" not in exc.public and "1 id(s) more than once" in exc.public


def test_duplicate_mixed_ids_name_only_the_public_ones() -> None:
    exc = rejection(rows([*good(), ("SECRET3", 0), ("pub2", 0)]))
    assert "pub2" in exc.public and "SECRET" not in exc.public


def test_bad_values_on_private_rows_are_never_quoted() -> None:
    pairs = [(i, "LEAKVALUE" if i == "SECRET1" else v) for i, v in good()]
    exc = rejection(rows(pairs))
    assert exc.kind == "not_numeric"
    assert "LEAKVALUE" in str(exc)
    assert "LEAKVALUE" not in exc.public and "line" not in exc.public
    assert "1 value(s)" in exc.public and "hidden test rows" in exc.public


def test_bad_values_on_public_rows_are_quoted_with_their_line() -> None:
    pairs = [(i, {"pub1": "oops", "SECRET1": "LEAKVALUE"}.get(i, v)) for i, v in good()]
    exc = rejection(rows(pairs))
    assert "line 3: 'oops'" in exc.public and "LEAKVALUE" not in exc.public


def test_probabilities_out_of_range_on_private_rows_are_not_quoted() -> None:
    pairs = [(i, 42.5 if i == "SECRET4" else 0.5) for i in IDS]
    exc = rejection(rows(pairs), "roc_auc")
    assert exc.kind == "probability_range"
    assert "42.5" in str(exc) and "42.5" not in exc.public


def test_unknown_labels_on_private_rows_are_not_quoted() -> None:
    pairs = [(i, 7 if i == "SECRET0" else v) for i, v in good()]
    exc = rejection(rows(pairs))
    assert exc.kind == "unknown_labels"
    assert "line 7: 7" in str(exc)
    assert "line" not in exc.public and "hidden test rows" in exc.public


def test_rmsle_range_names_only_public_ids() -> None:
    target = [1.0] * 10
    all_private = rejection(
        rows([(i, -5 if i == "SECRET2" else 1) for i in IDS]), "rmsle", key(target)
    )
    assert all_private.kind == "value_range"
    assert "SECRET2" in str(all_private) and "SECRET" not in all_private.public
    mixed = rejection(
        rows([(i, -5 if i in ("SECRET2", "pub3") else 1) for i in IDS]), "rmsle", key(target)
    )
    assert "pub3" in mixed.public and "SECRET" not in mixed.public


def test_header_text_is_never_echoed_to_the_candidate() -> None:
    exc = rejection(b"cid,SECRET0\npub0,1\n")
    assert exc.kind == "missing_target_column"
    assert "SECRET0" in str(exc) and "SECRET0" not in exc.public
    assert "'y'" in exc.public


def test_malformed_rows_are_described_without_their_text() -> None:
    exc = rejection(rows(good()) + b"SECRET1,1,EXTRA\n")
    assert exc.kind == "malformed"
    assert "EXTRA" in str(exc) and "EXTRA" not in exc.public
    assert "columns" in exc.public


def test_without_a_split_every_row_is_public() -> None:
    answers = key().drop(columns="split")
    exc = rejection(rows([(i, "bad" if i == "SECRET1" else v) for i, v in good()]), answers=answers)
    assert exc.public == str(exc)
