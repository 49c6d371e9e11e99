"""A kit full of personal data, written fresh per test, and helpers to vary it."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

FIRST = ["James", "Mary", "Robert", "Linda", "Priya", "Wei", "Carlos", "Aisha", "Lars", "Olga"]
LAST = ["Smith", "Jones", "Garcia", "Nakamura", "Okafor", "Larsen", "Novak", "Haddad"]
# Valid Luhn card numbers and valid SSNs / IBAN, so the checksummed detectors fire.
CARDS = ["4111111111111111", "5500005555555559", "4012888888881881", "378282246310005"]
# Whole values of these columns must never ship; `notes` is free text whose personal parts
# (names, e-mails, phones, cards from the columns above) are masked.
PERSONAL = ["name", "email", "phone", "ssn", "card", "ip", "street", "date_of_birth"]

TOML = """\
slug = "people"
title = "People"
brief = "brief.md"
[data]
source = "data/people.csv"
id = "customer_id"
target = "churned"
[split]
test_fraction = 0.3
private_fraction = 0.5
stratify = true
seed = 7
[metric]
name = "f1"
[columns]
customer_id = "pseudonymize"
name = "drop"
email = "drop"
phone = "drop"
ssn = "drop"
card = "drop"
ip = "drop"
street = "drop"
date_of_birth = "drop"
signup_date = { shift_days = 30, by = "customer_id" }
age = { bins = [18, 35, 50, 120] }
zip = { truncate = 3 }
income = { noise = "laplace", scale = 1000 }
notes = "mask"
[privacy]
quasi_identifiers = ["age", "zip", "gender"]
k = 5
suppress = true
"""


def people(rows: int = 400, seed: int = 3) -> pd.DataFrame:
    """A customer table where every personal column holds distinct, realistic values."""
    rng = np.random.default_rng(seed)
    first = rng.choice(FIRST, rows)
    last = rng.choice(LAST, rows)
    names = [f"{f} {s}" for f, s in zip(first, last, strict=True)]
    emails = [
        f"{f.lower()}.{s.lower()}{i}@mail.example.org"
        for i, (f, s) in enumerate(zip(first, last, strict=True))
    ]
    phones = [f"+44 20 {7000 + i:04d} {1000 + (i * 7) % 9000:04d}" for i in range(rows)]
    ssns = [f"{100 + i % 500:03d}-{10 + i % 80:02d}-{1000 + i:04d}" for i in range(rows)]
    ips = [f"10.{i // 250}.{i % 250}.{(i * 13) % 250 + 1}" for i in range(rows)]
    streets = [f"{10 + i} {rng.choice(['Oak', 'Elm', 'Pine'])} Street" for i in range(rows)]
    dob = pd.Timestamp("1950-01-01") + pd.to_timedelta(rng.integers(0, 365 * 50, rows), "D")
    signup = pd.Timestamp("2018-01-01") + pd.to_timedelta(rng.integers(0, 2000, rows), "D")
    notes = [
        f"Spoke with {names[i]} on {phones[i]}, follow up at {emails[i]}"
        if i % 3 == 0
        else ("Card on file " + CARDS[i % len(CARDS)] if i % 3 == 1 else "No issues.")
        for i in range(rows)
    ]
    return pd.DataFrame(
        {
            "customer_id": [f"CUST-{50000 + i}" for i in rng.permutation(rows)],
            "name": names,
            "email": emails,
            "phone": phones,
            "ssn": ssns,
            "card": [CARDS[i % len(CARDS)] for i in range(rows)],
            "ip": ips,
            "street": streets,
            "date_of_birth": dob.strftime("%Y-%m-%d"),
            "signup_date": signup.strftime("%Y-%m-%d"),
            "age": rng.integers(18, 80, rows),
            "zip": rng.choice(["94107", "10001", "60601"], rows),
            "gender": rng.choice(["F", "M"], rows),
            "income": rng.integers(20_000, 150_000, rows),
            "plan": rng.choice(["basic", "premium"], rows),
            "spend": np.round(rng.gamma(2, 20, rows), 2),
            "notes": notes,
            "churned": (rng.random(rows) < 0.35).astype(int),
        }
    )


Kit = Callable[..., Path]


@pytest.fixture
def kit(tmp_path: Path) -> Kit:
    """`kit(toml=..., frame=..., replace={old: new})` writes a kit and returns its folder."""

    def make(
        toml: str = TOML,
        frame: pd.DataFrame | None = None,
        replace: dict[str, str] | None = None,
        name: str = "kit",
    ) -> Path:
        root = tmp_path / name
        (root / "data").mkdir(parents=True, exist_ok=True)
        for old, new in (replace or {}).items():
            assert old in toml, old
            toml = toml.replace(old, new)
        (root / "challenge.toml").write_text(toml)
        (root / "brief.md").write_text("# People\n\nPredict churn.\n")
        (people() if frame is None else frame).to_csv(root / "data" / "people.csv", index=False)
        return root

    return make


def zip_text(path: Path) -> dict[str, str]:
    """Every member of a zip, decoded."""
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name).decode("utf-8") for name in archive.namelist()}


def read_member(path: Path, name: str) -> pd.DataFrame:
    import io

    with zipfile.ZipFile(path) as archive:
        return pd.read_csv(io.BytesIO(archive.read(name)), dtype=str)
