"""The build's promises: nothing personal, no labels or private rows in the bundle, k met."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from heldout.challenges import BuildOutput, build, load_spec
from tests.challenges.conftest import PERSONAL, Kit, people, read_member, zip_text


@pytest.fixture
def built(kit: Kit, tmp_path: Path) -> BuildOutput:
    return build(load_spec(kit()), "secret-1", tmp_path / "out")


def test_bundle_contains_no_source_value_of_any_personal_column(built: BuildOutput) -> None:
    source = people()
    text = "\n".join(zip_text(built.bundle_zip).values())
    sandbox = "\n".join(zip_text(built.sandbox_zip).values())
    for column in [*PERSONAL, "customer_id"]:
        for value in source[column].astype(str).unique():
            assert value not in text, f"{column} value {value!r} is in the bundle"
            assert value not in sandbox, f"{column} value {value!r} is in the sandbox inputs"
    # The pieces of the free text that are personal are gone too, not only whole values.
    for piece in ("@mail.example.org", "+44 20", "4111111111111111", "Mary Smith"):
        assert piece not in text


def test_bundle_has_no_labels_of_test_rows_and_no_private_rows(built: BuildOutput) -> None:
    answers = pd.read_csv(built.answers_csv, dtype=str)
    private = set(answers.loc[answers["split"] == "private", "customer_id"])
    public = set(answers.loc[answers["split"] == "public", "customer_id"])
    assert private and public and not private & public
    members = zip_text(built.bundle_zip)
    everything = "\n".join(members.values())
    for pseudonym in private:
        assert pseudonym not in everything
    test = read_member(built.bundle_zip, "data/test.csv")
    assert "churned" not in test.columns
    assert set(test["customer_id"]) == public
    train = read_member(built.bundle_zip, "data/train.csv")
    assert "churned" in train.columns
    assert not set(train["customer_id"]) & (private | public)
    assert set(members) == {
        "README.md",
        "brief.md",
        "data/train.csv",
        "data/test.csv",
        "sample_submission.csv",
        "check_predictions.py",
    }


def test_sandbox_has_every_test_row_without_labels(built: BuildOutput) -> None:
    answers = pd.read_csv(built.answers_csv, dtype=str)
    test = read_member(built.sandbox_zip, "test.csv")
    assert "churned" not in test.columns
    assert sorted(test["customer_id"]) == sorted(answers["customer_id"])
    assert list(answers.columns) == ["customer_id", "churned", "split"]
    train = read_member(built.sandbox_zip, "train.csv")
    assert train.equals(read_member(built.bundle_zip, "data/train.csv"))


def test_k_is_met_on_every_row_that_enters_the_sandbox(built: BuildOutput) -> None:
    # the sandbox's test.csv holds the private test rows too: a notebook can read them
    shipped = pd.concat(
        [
            read_member(built.sandbox_zip, "train.csv"),
            read_member(built.sandbox_zip, "test.csv"),
        ]
    )
    sizes = shipped.groupby(["age", "zip", "gender"], dropna=False).size()
    assert sizes.min() >= 5
    assert built.report["k_achieved"] == sizes.min()
    rows = built.report["rows"]
    assert rows["train"] + rows["public_test"] + rows["private_test"] + rows["suppressed"] == 400


def test_report_counts_distinct_values_before_and_after(built: BuildOutput) -> None:
    columns = {c["column"]: c for c in built.report["columns"]}
    assert columns["zip"]["before_distinct"] == 3 and columns["zip"]["after_distinct"] == 3
    assert columns["age"]["after_distinct"] <= 3 < columns["age"]["before_distinct"]
    assert columns["email"]["rule"] == "drop" and columns["email"]["after_distinct"] is None
    assert columns["plan"]["rule"] == "none"
    stored = json.loads(built.report_json.read_text())
    assert stored["columns"] == built.report["columns"]


def test_same_secret_gives_identical_artifacts(kit: Kit, tmp_path: Path) -> None:
    spec = load_spec(kit())
    first = build(spec, "secret-1", tmp_path / "a")
    second = build(spec, "secret-1", tmp_path / "b")
    assert first.data_sha256 == second.data_sha256
    assert first.bundle_zip.read_bytes() == second.bundle_zip.read_bytes()


def test_other_secret_gives_other_pseudonyms(kit: Kit, tmp_path: Path) -> None:
    spec = load_spec(kit())
    one = pd.read_csv(build(spec, "secret-1", tmp_path / "a").answers_csv)
    two = pd.read_csv(build(spec, "secret-2", tmp_path / "b").answers_csv)
    assert not set(one["customer_id"]) & set(two["customer_id"])


def test_archives_are_valid_zips_even_with_multi_chunk_members(kit: Kit, tmp_path: Path) -> None:
    from heldout.challenges import artifacts

    big = b"id,value\n" + b"".join(b"%d,%d\n" % (i, i * 7) for i in range(2_000_000))
    assert len(big) > 2 * artifacts.CHUNK
    from concurrent.futures import ThreadPoolExecutor

    # Parts of any size (a chunk boundary inside each, one empty) join into the one file.
    parts = [big[:12_345_678], b"", pa.py_buffer(big[12_345_678:])]
    with ThreadPoolExecutor(2) as pool:
        member = artifacts.compress("big.csv", parts, pool)()
    artifacts.write_zip(tmp_path / "big.zip", [member])
    with zipfile.ZipFile(tmp_path / "big.zip") as archive:
        assert archive.testzip() is None
        assert archive.read("big.csv") == big


@pytest.mark.parametrize("header", [True, False])
def test_select_lines_keeps_the_header_and_the_chosen_records(header: bool) -> None:
    from heldout.challenges import artifacts

    records = [b"%d,x%d\n" % (i, i) for i in range(7)]
    csv = (b"id,v\n" if header else b"") + b"".join(records)
    keep = np.array([True, False, False, True, True, False, True])
    chosen = artifacts.select_lines(csv, keep, header)
    assert chosen is not None
    expected = (b"id,v\n" if header else b"") + b"".join(
        r for r, k in zip(records, keep, strict=True) if k
    )
    assert chosen.to_pybytes() == expected
    none = artifacts.select_lines(csv, np.zeros(7, dtype=bool), header)
    assert none is not None and none.to_pybytes() == (b"id,v\n" if header else b"")


def test_select_lines_declines_records_that_span_lines() -> None:
    from heldout.challenges import artifacts

    assert artifacts.select_lines(b'id,v\n1,"a\nb"\n', np.array([True])) is None
    lone_return = artifacts.select_lines(b'id,v\n1,"a\rb"\n2,c\n', np.array([False, True]))
    assert lone_return is not None and lone_return.to_pybytes() == b"id,v\n2,c\n"


@pytest.mark.parametrize("note", ["one line", 'two\nlines, with "quotes"'])
def test_public_test_file_is_exactly_the_public_rows(kit: Kit, tmp_path: Path, note: str) -> None:
    frame = people().assign(notes=note)
    output = build(load_spec(kit(frame=frame)), "s", tmp_path / "out")
    public = read_member(output.bundle_zip, "data/test.csv")
    every = read_member(output.sandbox_zip, "test.csv")
    answers = pd.read_csv(output.answers_csv, dtype=str)
    expected = every[
        every["customer_id"].isin(answers.loc[answers["split"] == "public", "customer_id"])
    ]
    assert public.reset_index(drop=True).equals(expected.reset_index(drop=True))
    assert (public["notes"] == note).all()


def test_readme_describes_every_shipped_column(built: BuildOutput) -> None:
    readme = zip_text(built.bundle_zip)["README.md"]
    for column in ("customer_id", "zip", "age", "signup_date", "notes", "plan", "churned"):
        assert f"`{column}`" in readme
    assert "`email`" not in readme


def test_the_secret_is_in_no_artifact(kit: Kit, tmp_path: Path) -> None:
    secret = "a-very-recognizable-secret-0123456789"
    output = build(load_spec(kit()), secret, tmp_path / "out")
    for path in (output.bundle_zip, output.sandbox_zip):
        assert secret not in "\n".join(zip_text(path).values())
        assert secret.encode() not in path.read_bytes()
    assert secret not in output.answers_csv.read_text()
    assert secret not in output.report_json.read_text()
