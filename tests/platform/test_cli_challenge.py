"""`heldout challenge ...` as real processes on a fresh HELDOUT_HOME."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.challenges.conftest import TOML, people
from tests.platform.test_cli import heldout

EXAMPLES = Path(__file__).parents[2] / "challenges" / "examples"


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    return {"HELDOUT_HOME": str(tmp_path / "fresh-home")}


def test_build_json_on_a_fresh_machine_then_lifecycle(home: dict[str, str], tmp_path: Path) -> None:
    built = heldout("challenge", "build", str(EXAMPLES / "churn"), "--json", env=home, cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    payload = json.loads(built.stdout)  # exactly one JSON object on stdout
    assert payload["slug"] == "churn" and payload["version"] == 1
    assert payload["k_achieved"] >= 5 and payload["rows"]["private_test"] > 0
    assert payload["report"]["columns"][0]["column"] == "customer_id"
    assert "anonymize" in built.stderr  # progress goes to stderr

    again = heldout("challenge", "build", str(EXAMPLES / "churn"), "--json", env=home, cwd=tmp_path)
    assert json.loads(again.stdout)["version"] == 2

    listed = heldout("challenge", "list", "--json", env=home, cwd=tmp_path)
    assert [(c["slug"], c["version"], c["state"]) for c in json.loads(listed.stdout)] == [
        ("churn", 2, "draft")
    ]
    published = heldout("challenge", "publish", "churn", env=home, cwd=tmp_path)
    assert published.returncode == 0 and "published" in published.stdout

    shown = heldout("challenge", "show", "churn", env=home, cwd=tmp_path)
    assert shown.returncode == 0
    assert "k-anonymity over age, zip, gender: k = " in shown.stdout
    assert "email" in shown.stdout and "drop" in shown.stdout and "pseudonymize" in shown.stdout

    out = tmp_path / "bundle.zip"
    bundled = heldout("challenge", "bundle", "churn", "--out", str(out), env=home, cwd=tmp_path)
    assert bundled.returncode == 0, bundled.stderr
    with zipfile.ZipFile(out) as archive:
        assert {"data/train.csv", "data/test.csv", "starter.ipynb"} <= set(archive.namelist())
    old = heldout(
        "challenge",
        "bundle",
        "churn",
        "--version",
        "1",
        "--out",
        str(tmp_path / "1.zip"),
        env=home,
        cwd=tmp_path,
    )
    assert old.returncode == 0
    assert (tmp_path / "1.zip").read_bytes() == (
        Path(home["HELDOUT_HOME"]) / "storage" / payload["bundle_key"]
    ).read_bytes()


def test_personal_column_without_rule_is_one_clear_error(
    home: dict[str, str], tmp_path: Path
) -> None:
    kit = tmp_path / "kit"
    (kit / "data").mkdir(parents=True)
    (kit / "challenge.toml").write_text(TOML.replace('phone = "drop"\n', ""))
    (kit / "brief.md").write_text("# x\n")
    people().to_csv(kit / "data" / "people.csv", index=False)
    result = heldout("challenge", "build", str(kit), "--json", "--quiet", env=home, cwd=tmp_path)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("error: column 'phone' looks like personal data (phone_number")
    assert "Traceback" not in result.stderr
    assert not list((Path(home["HELDOUT_HOME"]) / "storage").rglob("*.zip"))


def test_bad_toml_error_has_file_and_line(home: dict[str, str], tmp_path: Path) -> None:
    kit = tmp_path / "kit"
    (kit / "data").mkdir(parents=True)
    (kit / "challenge.toml").write_text(TOML.replace("seed = 7", "seed = 7\ncolour = 1"))
    (kit / "brief.md").write_text("# x\n")
    people().to_csv(kit / "data" / "people.csv", index=False)
    result = heldout("challenge", "build", str(kit), env=home, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: challenge.toml:13: unknown key 'colour' in [split]; "
        "valid keys: test_fraction, private_fraction, stratify, seed"
    )


def test_new_scaffolds_a_kit(home: dict[str, str], tmp_path: Path) -> None:
    result = heldout("challenge", "new", str(tmp_path / "fraud-2025"), env=home, cwd=tmp_path)
    assert result.returncode == 0
    toml = (tmp_path / "fraud-2025" / "challenge.toml").read_text()
    assert 'slug = "fraud-2025"' in toml and "Production thinking" in toml
    assert (tmp_path / "fraud-2025" / "starter.ipynb").exists()
    again = heldout("challenge", "new", str(tmp_path / "fraud-2025"), env=home, cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr


def test_unknown_slug(home: dict[str, str], tmp_path: Path) -> None:
    for args in (("show", "nope"), ("publish", "nope"), ("bundle", "nope", "--out", "x.zip")):
        result = heldout("challenge", *args, env=home, cwd=tmp_path)
        assert result.returncode == 1 and "no challenge 'nope'" in result.stderr
