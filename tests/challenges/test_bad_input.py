"""Bad source tables: a clear error naming the problem, and nothing half-built left behind."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from heldout.challenges import ChallengeError, build, load_spec
from heldout.challenges.errors import PIIFound, SourceError, SpecError
from tests.challenges.conftest import Kit, people


def fails(root: Path, out: Path, match: str, kind: type[Exception] = SourceError) -> str:
    """Build must raise `kind` matching `match` and leave `out` absent (it did not exist)."""
    with pytest.raises(kind, match=match) as caught:
        build(load_spec(root), "s", out)
    assert not out.exists(), f"half-built output left: {list(out.rglob('*'))}"
    return str(caught.value)


def test_existing_out_dir_keeps_only_what_it_had(kit: Kit, tmp_path: Path) -> None:
    frame = people()
    frame.at[5, "customer_id"] = str(frame.at[6, "customer_id"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(SourceError):
        build(load_spec(kit(frame=frame)), "s", out)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize(
    "rule",
    ['customer_id = "pseudonymize"', "customer_id = { pseudonymize = true, length = 8 }", ""],
    ids=["pseudonymized", "short-pseudonyms", "kept"],
)
def test_duplicated_ids(kit: Kit, tmp_path: Path, rule: str) -> None:
    """Pseudonymized ids are checked by their pseudonyms' collision check, others counted."""
    frame = people()
    frame.at[5, "customer_id"] = str(frame.at[6, "customer_id"])
    root = kit(frame=frame, replace={'customer_id = "pseudonymize"': rule})
    message = fails(root, tmp_path / "out", "duplicated")
    assert "id column 'customer_id' has 1 duplicated value(s)" in message
    assert str(frame.at[6, "customer_id"]) in message


def test_id_with_missing_values(kit: Kit, tmp_path: Path) -> None:
    frame = people()
    frame.loc[9, "customer_id"] = None
    message = fails(kit(frame=frame), tmp_path / "out", "missing")
    assert "id column 'customer_id' has 1 missing value(s) (first at data row 10)" in message


def test_target_with_one_class(kit: Kit, tmp_path: Path) -> None:
    frame = people().assign(churned=0)
    message = fails(kit(frame=frame), tmp_path / "out", "single value")
    assert "target column 'churned' has a single value (0)" in message


def test_target_with_missing_values(kit: Kit, tmp_path: Path) -> None:
    frame = people().astype({"churned": "float"})
    frame.loc[3, "churned"] = None
    fails(kit(frame=frame), tmp_path / "out", "target column 'churned' has 1 missing")


def test_broken_encoding_names_the_line(kit: Kit, tmp_path: Path) -> None:
    root = kit()
    source = root / "data" / "people.csv"
    lines = source.read_bytes().split(b"\n")
    lines[7] = lines[7].replace(b"No issues.", b"No issues \xe9t\xe9.")
    lines[7] = lines[7] if b"\xe9" in lines[7] else lines[7] + b"\xe9"
    source.write_bytes(b"\n".join(lines))
    message = fails(root, tmp_path / "out", "not valid utf-8")
    assert "byte 0xe9 on line 8" in message and 'encoding (e.g. "latin-1")' in message


def test_declared_encoding_reads_latin1(kit: Kit, tmp_path: Path) -> None:
    frame = people()
    frame.loc[0, "plan"] = "bäsic"
    root = kit(
        frame=frame, replace={'target = "churned"': 'target = "churned"\nencoding = "latin-1"'}
    )
    (root / "data" / "people.csv").write_bytes(frame.to_csv(index=False).encode("latin-1"))
    output = build(load_spec(root), "s", tmp_path / "out")
    assert output.report["rows"]["train"] > 0


def test_huge_source_is_refused_before_reading(kit: Kit, tmp_path: Path) -> None:
    root = kit(replace={'target = "churned"': 'target = "churned"\nmax_mb = 1'})
    source = root / "data" / "people.csv"
    with source.open("a") as stream:
        stream.write("#" * (2 * 1024 * 1024))
    message = fails(root, tmp_path / "out", "above the 1 MB limit")
    assert "people.csv is 2 MB" in message and "max_mb" in message


def test_unreadable_source(kit: Kit, tmp_path: Path) -> None:
    root = kit()
    spec = load_spec(root)
    source = root / "data" / "people.csv"
    source.unlink()
    source.mkdir()  # a directory where the file was: unreadable even for root
    fails_spec = pytest.raises(SourceError, match=r"cannot read people\.csv")
    with fails_spec:
        build(spec, "s", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_binary_garbage_is_not_a_csv(kit: Kit, tmp_path: Path) -> None:
    root = kit()
    spec = load_spec(root)
    (root / "data" / "people.csv").write_bytes(b"customer_id,churned\n\x00\x01\x02\xff" * 100)
    with pytest.raises(SourceError, match="looks binary"):
        build(spec, "s", tmp_path / "out")


def test_ragged_csv_names_the_problem(kit: Kit, tmp_path: Path) -> None:
    root = kit()
    spec = load_spec(root)
    with (root / "data" / "people.csv").open("a") as stream:
        stream.write("only,three,fields\n")
    with pytest.raises(SourceError, match=r"not a well-formed CSV: .*Expected 18 columns"):
        build(spec, "s", tmp_path / "out")


def test_header_only(kit: Kit, tmp_path: Path) -> None:
    root = kit(frame=people().iloc[:0])
    fails(root, tmp_path / "out", "has a header but no rows")


def test_rule_for_missing_column_is_a_spec_error(kit: Kit) -> None:
    with pytest.raises(SpecError, match="rule for 'shoe_size'"):
        load_spec(kit(replace={'name = "drop"': 'name = "drop"\nshoe_size = "drop"'}))


def test_column_removed_after_load_spec(kit: Kit, tmp_path: Path) -> None:
    root = kit()
    spec = load_spec(root)
    people().drop(columns=["zip"]).to_csv(root / "data" / "people.csv", index=False)
    with pytest.raises(ChallengeError, match=r"people\.csv has no column 'zip'"):
        build(spec, "s", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unnamed_personal_column_stops_the_build(kit: Kit, tmp_path: Path) -> None:
    root = kit(replace={'email = "drop"\n': ""})
    message = fails(root, tmp_path / "out", "email", PIIFound)
    assert "column 'email' looks like personal data (email" in message
    assert 'email = "drop"' in message
    assert "@mail.example.org" not in message  # the example is redacted


def test_parquet_source(kit: Kit, tmp_path: Path) -> None:
    root = kit(replace={"data/people.csv": "data/people.parquet"})
    people().to_parquet(root / "data" / "people.parquet")
    output = build(load_spec(root), "s", tmp_path / "out")
    assert pd.read_csv(output.answers_csv)["split"].isin(["public", "private"]).all()


def test_blank_id(kit: Kit, tmp_path: Path) -> None:
    frame = people()
    frame.loc[4, "customer_id"] = "  "
    message = fails(kit(frame=frame), tmp_path / "out", "empty value")
    assert "id column 'customer_id' has an empty value at data row 5" in message


def test_gzipped_csv_source(kit: Kit, tmp_path: Path) -> None:
    root = kit(replace={"data/people.csv": "data/people.csv.gz"})
    people().to_csv(root / "data" / "people.csv.gz", index=False, compression="gzip")
    output = build(load_spec(root), "s", tmp_path / "out")
    assert output.report["source"]["rows"] == len(people())


def test_wrong_declared_encoding(kit: Kit, tmp_path: Path) -> None:
    root = kit(replace={'target = "churned"': 'target = "churned"\nencoding = "ascii"'})
    with (root / "data" / "people.csv").open("a", encoding="utf-8") as stream:
        stream.write(
            "CUST-9,Zoë Ng,z@x.io,+1 415-555-0100,123-45-6789,4111111111111111,"
            "10.0.0.1,1 Oak Street,1980-01-01,2020-01-01,30,94107,F,50000,basic,"
            "1.0,No issues.,0\n"
        )
    message = fails(root, tmp_path / "out", "not valid ascii")
    assert "line 402" in message and "check [data] encoding" in message


def test_a_column_with_no_values_builds(kit: Kit, tmp_path: Path) -> None:
    """Arrow reads an all-empty column as the null type; the report counts 0 distinct."""
    frame = people().assign(empty=None)
    output = build(load_spec(kit(frame=frame)), "s", tmp_path / "out")
    entry = next(c for c in output.report["columns"] if c["column"] == "empty")
    assert entry["before_distinct"] == entry["after_distinct"] == 0
    assert entry["missing"] == len(frame)
