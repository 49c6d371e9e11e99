"""The challenge service on SQLite and PostgreSQL: versions, secrets, artifacts, cleanup."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from heldout.challenges.errors import PIIFound
from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.models import Challenge, ChallengeVersion
from heldout.platform.services import challenges
from heldout.platform.storage import Storage, open_storage
from tests.challenges.conftest import TOML, people


@pytest.fixture
def storage(config: Config) -> Storage:
    return open_storage(config)


@pytest.fixture
def kit(tmp_path: Path) -> Path:
    root = tmp_path / "kit"
    (root / "data").mkdir(parents=True)
    (root / "challenge.toml").write_text(TOML)
    (root / "brief.md").write_text("# People\n")
    people().to_csv(root / "data" / "people.csv", index=False)
    return root


def test_first_build_creates_challenge_and_version_one(
    db: Database, storage: Storage, kit: Path
) -> None:
    seen: list[str] = []
    info = challenges.build(db, storage, kit, lambda stage, done, total: seen.append(stage))
    assert (info.slug, info.version, info.state, info.metric) == ("people", 1, "draft", "f1")
    assert seen[0] == "read" and seen[-1] == "write"
    for key in (info.bundle_key, info.sandbox_key, info.answer_key):
        assert key.startswith("challenges/people/v1/") and storage.exists(key)
    assert info.starter_key is None
    assert info.report["k_achieved"] >= 5 and info.spec["data"]["id"] == "customer_id"
    with db.session() as session:
        challenge = session.query(Challenge).one()
        assert len(challenge.secret) == 64


def test_rebuild_is_a_new_version_with_the_same_secret_and_pseudonyms(
    db: Database, storage: Storage, kit: Path
) -> None:
    one = challenges.build(db, storage, kit)
    with db.session() as session:
        secret = session.query(Challenge).one().secret
    two = challenges.build(db, storage, kit)
    assert two.version == 2 and two.versions == 2
    with db.session() as session:
        assert session.query(Challenge).one().secret == secret
    ids_one = pd.read_csv(storage.open(one.answer_key))["customer_id"]
    ids_two = pd.read_csv(storage.open(two.answer_key))["customer_id"]
    assert set(ids_one) == set(ids_two)
    # Version 1 is untouched: what earlier submissions were graded against stays.
    assert challenges.show(db, "people", 1).bundle_key == one.bundle_key
    assert storage.exists(one.bundle_key) and one.bundle_key != two.bundle_key


def test_failed_build_leaves_no_rows_and_no_artifacts(
    db: Database, storage: Storage, kit: Path
) -> None:
    challenges.build(db, storage, kit)
    before = storage.list("challenges/")
    toml = kit / "challenge.toml"
    toml.write_text(toml.read_text().replace('email = "drop"\n', ""))
    with pytest.raises(PIIFound):
        challenges.build(db, storage, kit)
    assert storage.list("challenges/") == before
    with db.session() as session:
        assert session.query(ChallengeVersion).count() == 1


def test_storage_failure_midway_removes_what_was_stored(
    db: Database, storage: Storage, kit: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = storage.put_file
    calls = []

    def flaky(key: str, path: Path, content_type: str = "") -> int:
        calls.append(key)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(key, path, content_type)

    monkeypatch.setattr(storage, "put_file", flaky)
    with pytest.raises(OSError, match="disk full"):
        challenges.build(db, storage, kit)
    assert storage.list("challenges/") == []
    with db.session() as session:
        assert session.query(Challenge).count() == 0


def test_publish_list_show_and_current_version(db: Database, storage: Storage, kit: Path) -> None:
    with pytest.raises(NotFound):
        challenges.publish(db, "people")
    challenges.build(db, storage, kit)
    with pytest.raises(NotFound, match="not open"):
        challenges.current_version(db, "people")
    assert challenges.publish(db, "people").state == "published"
    current = challenges.current_version(db, "people")
    assert current.version == 1 and current.brief.startswith("# People")
    assert [i.slug for i in challenges.list_challenges(db)] == ["people"]
    with pytest.raises(NotFound, match="no version 9"):
        challenges.show(db, "people", 9)
    assert challenges.close(db, "people").state == "closed"


def test_publish_needs_a_version(db: Database) -> None:
    from tests.factories import make_challenge

    with db.session() as session:
        slug = make_challenge(session, versions=0).slug
    with pytest.raises(InvalidInput, match="no built version"):
        challenges.publish(db, slug)


def test_bundle_is_the_stored_bytes(
    db: Database, storage: Storage, kit: Path, tmp_path: Path
) -> None:
    info = challenges.build(db, storage, kit)
    out = tmp_path / "dl" / "people.zip"
    size = challenges.write_bundle(db, storage, "people", out)
    assert out.read_bytes() == storage.read_bytes(info.bundle_key) and size == out.stat().st_size


def test_bundle_holds_the_three_self_help_files_and_the_sandbox_requirements(
    db: Database, storage: Storage, kit: Path, tmp_path: Path
) -> None:
    import zipfile

    challenges.build(db, storage, kit)
    out = tmp_path / "people.zip"
    challenges.write_bundle(db, storage, "people", out)
    with zipfile.ZipFile(out) as archive:
        names = set(archive.namelist())
        requirements = archive.read("requirements.txt").decode()
    assert {"sample_submission.csv", "check_predictions.py", "requirements.txt"} <= names
    assert requirements.splitlines()[0] == "# Python 3.11"
    # The package lines are exactly sandbox/requirements.txt's, the file the image is built from.
    sandbox = Path(__file__).parents[2] / "sandbox" / "requirements.txt"
    pins = [line for line in sandbox.read_text().splitlines() if line and not line.startswith("#")]
    assert requirements.splitlines()[1:] == pins
    assert "scikit-learn==" in requirements and "xgboost-cpu==" in requirements
