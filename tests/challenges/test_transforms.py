"""Each transform's promised property, on Arrow columns."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from heldout.challenges.keyed import KeyedHasher
from heldout.challenges.transforms import TRANSFORMS, Context, Rule, parse_rule
from tests.challenges.conftest import read_member


def apply(
    table: pa.Table,
    column: str,
    value: object,
    secret: str = "s",  # noqa: S107
    seed: int = 1,
) -> list[Any]:
    rule = parse_rule(column, value)
    ctx = Context(table, KeyedHasher(secret), seed, "id")
    result = TRANSFORMS[rule.kind].apply(table.column(column), rule, ctx)
    return [] if result is None else result.to_pylist()


def table(**columns: Sequence[object]) -> pa.Table:
    return pa.table({name: pa.array(values) for name, values in columns.items()})


def test_pseudonym_is_keyed_hmac_sha256_of_the_value() -> None:
    out = apply(table(id=["C-1", "C-2"]), "id", "pseudonymize", secret="k")
    expected = hmac.new(b"k", b"C-1", hashlib.sha256).hexdigest()[:16]
    assert out[0] == "p" + expected


def test_pseudonyms_stable_within_a_challenge_and_join_across_columns() -> None:
    data = table(id=["a", "b", "c", "a"], referrer=["c", None, "a", "b"])
    ids = apply(data, "id", "pseudonymize")
    refs = apply(data, "referrer", "pseudonymize")
    assert ids[0] == ids[3] and len(set(ids)) == 3
    assert refs == [ids[2], None, ids[0], ids[1]]  # joins survive, nulls stay null
    assert apply(data, "id", "pseudonymize") == ids


def test_pseudonyms_differ_across_secrets() -> None:
    data = table(id=[str(i) for i in range(100)])
    one, two = apply(data, "id", "pseudonymize", "s1"), apply(data, "id", "pseudonymize", "s2")
    assert not set(one) & set(two)


def test_pseudonym_of_integer_and_text_ids_match() -> None:
    assert apply(table(id=[7, 8]), "id", "pseudonymize") == apply(
        table(id=["7", "8"]), "id", "pseudonymize"
    )


def test_pseudonym_prefix_and_length() -> None:
    out = apply(table(id=["x"]), "id", {"pseudonymize": True, "prefix": "C-", "length": 10})
    assert out[0].startswith("C-") and len(out[0]) == 12


def test_shift_days_same_offset_for_every_row_of_an_entity() -> None:
    rng = np.random.default_rng(0)
    entity = [f"e{i % 50}" for i in range(500)]
    days = pa.array(rng.integers(17000, 19000, 500).astype("datetime64[D]"))
    data = pa.table({"id": pa.array([str(i) for i in range(500)]), "who": entity, "d": days})
    shifted = apply(data, "d", {"shift_days": 30, "by": "who"})
    offsets: dict[str, set[int]] = {}
    for who, before, after in zip(entity, days.to_pylist(), shifted, strict=True):
        offsets.setdefault(who, set()).add((after - before).days)
    assert all(len(found) == 1 for found in offsets.values())
    every = [next(iter(found)) for found in offsets.values()]
    assert all(1 <= abs(offset) <= 30 for offset in every)
    assert len(set(every)) > 10  # entities get different offsets


def test_shift_days_keeps_intervals_within_an_entity_and_parses_text_dates() -> None:
    data = table(id=["1", "2"], d=["2024-01-01", "2024-03-01"], who=["x", "x"])
    a, b = apply(data, "d", {"shift_days": 10, "by": "who"})
    assert (b - a).days == (date(2024, 3, 1) - date(2024, 1, 1)).days


def test_shift_days_on_timestamps() -> None:
    data = pa.table({"id": ["1"], "t": pa.array([np.datetime64("2024-01-01T10:30:00")])})
    out = apply(data, "t", {"shift_days": 5})
    assert out[0].time().isoformat() == "10:30:00" and out[0].date() != date(2024, 1, 1)


def test_shift_days_refuses_non_dates() -> None:
    from heldout.challenges import ChallengeError

    with pytest.raises(ChallengeError, match="values are not dates"):
        apply(table(id=["1"], d=["soon"]), "d", {"shift_days": 3})


def test_bins_label_values_including_out_of_range_and_null() -> None:
    out = apply(table(age=[17, 18, 24.5, 64, 65, 99, None]), "age", {"bins": [18, 25, 65]})
    assert out == ["<18", "[18, 25)", "[18, 25)", "[25, 65)", ">=65", ">=65", None]


def test_bins_with_labels() -> None:
    rule = {"bins": [30, 60], "labels": ["young", "middle", "old"]}
    assert apply(table(age=[20, 45, 70]), "age", rule) == ["young", "middle", "old"]


def test_leading_zeros_survive_for_ids_and_truncated_columns(tmp_path: Path) -> None:
    from heldout.challenges import build, load_spec

    (tmp_path / "data.csv").write_text(
        "id,zip,x,y\n" + "".join(f"00{i},0{2100 + i % 2},{i},{i % 2}\n" for i in range(40))
    )
    (tmp_path / "brief.md").write_text("b")
    (tmp_path / "challenge.toml").write_text(
        'slug = "z"\ntitle = "z"\n[data]\nsource = "data.csv"\nid = "id"\ntarget = "y"\n'
        '[metric]\nname = "f1"\n[columns]\nzip = { truncate = 3 }\n'
    )
    output = build(load_spec(tmp_path), "s", tmp_path / "out")
    answers = pd.read_csv(output.answers_csv, dtype=str)
    assert answers["id"].str.startswith("00").all()
    assert set(read_member(output.sandbox_zip, "test.csv")["zip"]) == {"021"}


def test_truncate_text_numbers_and_dates() -> None:
    assert apply(table(zip=["94107", "1000"]), "zip", {"truncate": 3}) == ["941", "100"]
    assert apply(table(zip=[94107]), "zip", {"truncate": 2}) == ["94"]
    out = apply(table(d=[date(1987, 6, 15)]), "d", {"truncate": "year"})
    assert out == [date(1987, 1, 1)]


def test_noise_is_seeded_centred_and_keeps_integers() -> None:
    data = table(income=list(range(10_000, 20_000)))
    one = apply(data, "income", {"noise": "laplace", "scale": 100}, seed=3)
    assert one == apply(data, "income", {"noise": "laplace", "scale": 100}, seed=3)
    assert one != apply(data, "income", {"noise": "laplace", "scale": 100}, seed=4)
    assert all(isinstance(v, int) for v in one)
    diff = np.array(one) - np.arange(10_000, 20_000)
    assert abs(diff.mean()) < 10 and 100 < np.abs(diff).mean() * 1.0 < 150  # Laplace: E|x| = b


def test_gaussian_noise_scale_is_the_standard_deviation_and_rounds() -> None:
    data = table(x=[0.0] * 20_000)
    out = np.array(apply(data, "x", {"noise": "gaussian", "scale": 5, "round": 1}))
    assert 4.8 < out.std() < 5.2
    assert np.allclose(out, np.round(out, 1))


def test_noise_rule_seed_overrides_the_split_seed() -> None:
    data = table(x=[1.0] * 10)
    rule = {"noise": "gaussian", "scale": 1, "seed": 9}
    assert apply(data, "x", rule, seed=1) == apply(data, "x", rule, seed=2)


def test_top_and_bottom_code() -> None:
    data = table(x=[1, 50, 500, None])
    assert apply(data, "x", {"top_code": 100}) == [1, 50, 100, None]
    assert apply(data, "x", {"bottom_code": 10}) == [10, 50, 500, None]
    assert apply(data, "x", {"top_code": 100, "bottom_code": 10}) == [10, 50, 100, None]


def test_mask_replaces_personal_data_in_free_text() -> None:
    notes = [
        "Call Mary Smith on +1 415-555-0132 or mary@example.com",
        "Card 4111 1111 1111 1111, SSN 123-45-6789, from 192.168.10.4",
        "Lives at 12 Oak Street; DOB: 1980-02-03",
        None,
        "Nothing personal here.",
    ]
    out = apply(table(notes=notes), "notes", "mask")
    assert out[0] == "Call [NAME] on [PHONE] or [EMAIL]"
    assert out[1] == "Card [CARD], SSN [SSN], from [IP]"
    assert out[2] == "Lives at [ADDRESS]; [DOB]"
    assert out[3] is None and out[4] == "Nothing personal here."


def test_mask_only_chosen_kinds() -> None:
    out = apply(table(n=["mary@example.com, Mary Smith"]), "n", {"mask": ["email"]})
    assert out == ["[EMAIL], Mary Smith"]


def test_drop_and_keep() -> None:
    data = table(x=[1, 2])
    assert apply(data, "x", "drop") == [] and apply(data, "x", "keep") == [1, 2]


def test_registry_error_lists_valid_rules() -> None:
    with pytest.raises(ValueError, match="valid rules: drop, keep, pseudonymize, shift_days"):
        parse_rule("x", "scramble")


def test_hasher_caches_one_pass_per_column() -> None:
    hasher = KeyedHasher("s")
    column = pa.chunked_array([pa.array(["a", "b"])])
    assert hasher.of("c", column) is hasher.of("c", column)
    assert pc.count_distinct(hasher.of("c", column).pseudonyms("", 16)).as_py() == 2


def test_rule_round_trips_to_toml_value() -> None:
    assert Rule("x", "drop").to_toml_value() == "drop"
    assert parse_rule("x", {"truncate": 3}).to_toml_value() == {"truncate": 3}


@pytest.mark.parametrize("values", [[f"id-{i}" for i in range(10)], list(range(10))])
def test_hasher_batches_give_the_standard_hmac(
    values: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Hashed in batches (3 values here), each value still gets RFC 2104 HMAC-SHA256."""
    import hmac

    from heldout.challenges import keyed

    monkeypatch.setattr(keyed, "BATCH", 3)
    column = pa.chunked_array([pa.array(values)])
    digests = KeyedHasher("key").of("c", column, unique=True).digests
    expected = [hmac.new(b"key", str(v).encode(), "sha256").digest() for v in values]
    assert [bytes(row) for row in digests] == expected
