"""The PII scan: every kind it promises, checksums where they exist, and no cry-wolf."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pytest

from heldout.challenges.pii import iban_ok, luhn_ok, redact, scan_column


def scan(name: str, values: Sequence[object]) -> tuple[str, str, str] | None:
    found = scan_column(name, pa.chunked_array([pa.array(values)]))
    return None if found is None else (found.kind, found.example, found.suggestion)


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["ana@example.com", "bo@x.org"], "email"),
        (["+1 415-555-0132", "+44 20 7946 0958"], "phone_number"),
        (["(415) 555-0132"], "phone_number"),
        (["4111 1111 1111 1111"], "card_number"),
        (["123-45-6789"], "national_id"),
        (["AB 12 34 56 C"], "national_id_uk"),
        (["GB82 WEST 1234 5698 7654 32"], "bank_account"),
        (["192.168.1.20"], "ip_address"),
        (["2001:db8:85a3::8a2e:370:7334"], "ip_address"),
        (["742 Evergreen Terrace"], "street_address"),
        (["born on 1984-03-02, likes cats"], "date_of_birth"),
        (["Ticket raised by Mary Johnson yesterday"], "person_name"),
    ],
)
def test_each_kind_is_found(values: Sequence[object], kind: str) -> None:
    found = scan("col", [*values, *["plain text"] * 5])
    assert found is not None and found[0] == kind


def test_column_of_full_names_is_found_even_with_unknown_names() -> None:
    names = [f"{f} {s}" for f in ("Mary", "Zorblax", "Quenby", "James") for s in ("Ode", "Vex")]
    assert scan("customer", names)[0] == "person_name"  # type: ignore[index]


def test_city_names_are_not_people() -> None:
    assert scan("city", ["San Francisco", "New York", "Los Angeles", "Salt Lake City"] * 5) is None


def test_checksums_reject_lookalikes() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB82 WEST 1234 5698 7654 33")
    assert scan("n", ["4111 1111 1111 1112"]) is None
    assert scan("n", ["000-12-3456", "666-12-3456", "923-12-3456"]) is None


def test_integer_card_numbers_are_found_but_other_long_integers_are_not() -> None:
    assert scan("payment", [4111111111111111, 5500005555555559, 4012888888881881])
    rng = np.random.default_rng(0)
    assert scan("event_id", list(rng.integers(10**15, 10**16, 200))) is None


def test_birth_dates_by_name_or_by_spread() -> None:
    days = [date(1950, 1, 1) + timedelta(days=int(d)) for d in np.linspace(0, 365 * 50, 100)]
    assert scan("dob", days[:3])[0] == "date_of_birth"  # type: ignore[index]
    assert scan("d1", days)[0] == "date_of_birth"  # type: ignore[index]
    recent = [date(2022, 1, 1) + timedelta(days=d) for d in range(100)]
    assert scan("signup", recent) is None
    assert scan("birth_date", ["1980-01-02", "1990-03-04"])[0] == "date_of_birth"  # type: ignore[index]


def test_ordinary_columns_are_clean() -> None:
    assert scan("plan", ["basic", "premium", "standard"]) is None
    assert scan("score", [0.1, 0.5, 3.2]) is None
    assert scan("version", ["v1.2", "2024-05-01", "n/a", "12-7"]) is None
    assert scan("count", list(range(100))) is None


def test_hit_gives_a_redacted_example_and_a_rule() -> None:
    _, example, suggestion = scan("contact", ["jane.doe@example.com"])  # type: ignore[misc]
    assert example == "j***.***@*******.*om" and "jane" not in example
    assert suggestion == 'contact = "drop"'
    _, example, suggestion = scan("notes", ["write to jane.doe@example.com"])  # type: ignore[misc]
    assert suggestion == 'notes = "mask"'


def test_redact_keeps_shape_only() -> None:
    assert redact("555-123-4567") == "5**-***-**67"
    assert redact("abc") == "a**"


def test_mask_equals_masking_each_kind_in_turn() -> None:
    """Grouping the kinds is only a shortcut: the text is what each kind in turn would give."""
    import itertools

    import pyarrow.compute as pc

    from heldout.challenges.pii import DETECTORS, mask_text

    pieces = [
        "mary@example.com",
        "4111 1111 1111 1111",
        "NO93 8601 1117 947",
        "123-45-6789",
        "AB 12 34 56 C",
        "10.0.0.1",
        "+44 20 7946 0958",
        "12 Oak Street",
        "DOB: 1980-02-03",
        "Mr. Novak",
        "Linda Okafor",
        "nothing here",
    ]
    rows = [f"{a}; then {b}." for a, b in itertools.product(pieces, repeat=2)] + [None, ""]
    column = pa.chunked_array([pa.array(rows)])
    kinds = tuple(DETECTORS)
    expected = column.combine_chunks()
    for kind in kinds:
        detector = DETECTORS[kind]
        expected = pc.replace_substring_regex(expected, detector.pattern, detector.placeholder)
    assert mask_text(column, kinds).to_pylist() == expected.to_pylist()
    text = " ".join(value or "" for value in expected.to_pylist())
    assert all(DETECTORS[kind].placeholder in text for kind in kinds)  # every kind was hit
    for chosen in (kinds[:1], kinds[3:7], kinds[::2]):
        once = column.combine_chunks()
        for kind in chosen:
            detector = DETECTORS[kind]
            once = pc.replace_substring_regex(once, detector.pattern, detector.placeholder)
        assert mask_text(column, chosen).to_pylist() == once.to_pylist()
