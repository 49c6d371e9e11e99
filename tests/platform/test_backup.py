"""`heldout export` / `heldout import`: round trips, and archives refused without writing."""

from __future__ import annotations

import hashlib
import json
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from heldout.platform.cli import main
from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.models import (
    Assignment,
    AuditEvent,
    Base,
    Candidate,
    Challenge,
    Explanation,
    Invitation,
    Review,
    Run,
    Submission,
    User,
    utcnow,
)
from heldout.platform.services import backup
from heldout.platform.services.archive import Limits
from heldout.platform.storage import Storage, open_storage
from tests import factories, services


@dataclass
class Install:
    """One installation: its settings, database and storage."""

    env: dict[str, str]
    db: Database
    storage: Storage


def _install(home: Path, database_url: str) -> Install:
    env = {"HELDOUT_HOME": str(home), "HELDOUT_DATABASE_URL": database_url}
    config = Config.from_env(env)
    db = Database(config.database_url)
    db.upgrade()
    return Install(env, db, open_storage(config))


@pytest.fixture
def source(env: dict[str, str], database_url: str) -> Iterator[Install]:
    found = _install(Path(env["HELDOUT_HOME"]), database_url)
    yield found
    found.db.dispose()


@pytest.fixture
def target(request: pytest.FixtureRequest, tmp_path: Path, database_url: str) -> Iterator[Install]:
    """A second installation on the same kind of database, already holding other rows."""
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path / 'target.db'}"
    else:
        server: services.PostgresServer = request.getfixturevalue("postgres_server")
        url = server.create_database(f"t_{uuid.uuid4().hex[:12]}")
    found = _install(tmp_path / "target", url)
    yield found
    found.db.dispose()


def _put(storage: Storage, key: str, data: bytes) -> str:
    storage.put_bytes(key, data)
    return key


def _populate(install: Install, slug: str = "churn") -> None:
    """A challenge with every kind of row and artifact, plus an unrelated challenge."""
    s = install.storage
    with install.db.session() as session:
        challenge = factories.make_challenge(session, versions=2, state="published")
        challenge.slug = slug
        for version in challenge.versions:
            prefix = f"challenges/{slug}/{version.number}"
            version.bundle_key = _put(s, f"{prefix}/bundle.zip", b"bundle" + prefix.encode())
            version.sandbox_key = _put(s, f"{prefix}/sandbox.zip", b"sandbox" + prefix.encode())
            version.answer_key = _put(s, f"{prefix}/answers.csv", b"id,y\n1,0\n" * 50)
            version.starter_key = _put(s, f"{prefix}/starter.ipynb", b"{}")
            version.spec = {"slug": slug, "data": {"source": "data/customers.csv"}}
        reviewer = _user(session, "rev@example.com", name="Rae")
        admin = _user(session, "admin@example.com", role="admin")
        session.add(Assignment(user_id=reviewer.id, challenge_id=challenge.id))
        for n, email in enumerate(["ann@example.com", "bob@example.com"]):
            candidate = _candidate(session, email, f"Candidate P{n}", name=f"N{n}")
            invitation = factories.make_invitation(
                session, challenge=challenge, candidate=candidate, expires_at=utcnow()
            )
            for attempt in range(2):
                sha = f"{n}{attempt}".ljust(64, "a")
                key = _put(s, f"submissions/{sha[:2]}/{sha}.ipynb", f"nb {n} {attempt}".encode())
                submission = factories.make_submission(session, invitation=invitation)
                submission.notebook_key, submission.notebook_sha256 = key, sha
                submission.status = "scored"
                submission.public_score, submission.private_score = 0.5 + n, 0.25 * attempt
                plot = _put(s, f"grading/{submission.id}/plots/roc.svg", b"<svg/>")
                submission.grading = {"metric": "f1", "plots": {"roc": plot}, "ci": [0.1, 0.9]}
                session.add(
                    Run(
                        submission=submission,
                        attempt=1,
                        worker="w1",
                        status="succeeded",
                        duration_s=12.5,
                        started_at=utcnow(),
                        logs="line\n" * 3,
                        cell_timings=[0.1, 0.2],
                        executed_key=_put(s, f"runs/{submission.id}/executed.ipynb", b"ex"),
                        predictions_key=_put(s, f"runs/{submission.id}/pred.csv", b"id,y\n"),
                        result={"status": "succeeded"},
                    )
                )
                session.add(
                    Review(
                        submission_id=submission.id,
                        reviewer_id=reviewer.id,
                        scores={"Methodology": {"score": 4, "comment": "ok"}},
                        red_flags=["no monitoring"],
                        recommendation="yes",
                        submitted_at=utcnow(),
                    )
                )
                session.flush()
                session.add(
                    AuditEvent(
                        user_id=admin.id, action="viewed", target=f"submission:{submission.id}"
                    )
                )
            invitation.final_submission_id = submission.id
            session.add(
                Explanation(
                    invitation_id=invitation.id,
                    submission_id=submission.id,
                    text=f"I chose F1 because {n}",
                    video_key=_put(s, f"videos/{invitation.id}.webm", b"\x1a\x45" * 1000),
                    video_type="video/webm",
                    video_size=2000,
                )
            )
        factories.make_submission(session)  # another challenge: never exported


def _user(session: Any, email: str, role: str = "reviewer", name: str = "") -> User:
    user = User(email=email, role=role, name=name, password_hash="pbkdf2:x")
    session.add(user)
    session.flush()
    return user


def _candidate(session: Any, email: str, pseudonym: str, name: str = "") -> Candidate:
    candidate = Candidate(email=email, pseudonym=pseudonym, name=name)
    session.add(candidate)
    session.flush()
    return candidate


def _graph(install: Install, slug: str) -> dict[str, list[dict[str, Any]]]:
    """The challenge's rows found by explicit queries, ids replaced by stable positions."""
    with install.db.session() as session:
        challenge = session.execute(select(Challenge).where(Challenge.slug == slug)).scalar_one()
        found: dict[str, list[Any]] = {"challenges": [challenge]}
        found["challenge_versions"] = list(challenge.versions)
        found["invitations"] = _all(session, Invitation, Invitation.challenge_id == challenge.id)
        inv_ids = [i.id for i in found["invitations"]]
        found["submissions"] = _all(session, Submission, Submission.invitation_id.in_(inv_ids))
        sub_ids = [s.id for s in found["submissions"]]
        found["runs"] = _all(session, Run, Run.submission_id.in_(sub_ids))
        found["reviews"] = _all(session, Review, Review.submission_id.in_(sub_ids))
        found["explanations"] = _all(session, Explanation, Explanation.invitation_id.in_(inv_ids))
        found["assignments"] = _all(session, Assignment, Assignment.challenge_id == challenge.id)
        targets = [f"submission:{i}" for i in sub_ids]
        found["audit_events"] = _all(session, AuditEvent, AuditEvent.target.in_(targets))
        cand_ids = {i.candidate_id for i in found["invitations"]}
        found["candidates"] = _all(session, Candidate, Candidate.id.in_(cand_ids))
        user_ids = {r.reviewer_id for r in found["reviews"]} | {
            a.user_id for a in found["assignments"]
        }
        user_ids |= {e.user_id for e in found["audit_events"]}
        found["users"] = _all(session, User, User.id.in_(user_ids))
    position = {
        name: {obj.id: f"{name}#{n}" for n, obj in enumerate(objs)} for name, objs in found.items()
    }
    position["candidates"] = {c.id: c.email for c in found["candidates"]}
    position["users"] = {u.id: u.email for u in found["users"]}
    tables = {t.name: t for t in Base.metadata.sorted_tables}
    graph: dict[str, list[dict[str, Any]]] = {}
    for name, objs in found.items():
        if name in ("candidates", "users"):
            graph[name] = sorted([{"email": o.email} for o in objs], key=str)
            continue
        refs = {fk.parent.name: fk.column.table.name for fk in tables[name].foreign_keys}
        refs |= {"final_submission_id": "submissions"} if name == "invitations" else {}
        rows = []
        for obj in objs:
            row = {c.name: getattr(obj, c.name) for c in tables[name].columns if c.name != "id"}
            for column, ref in refs.items():
                row[column] = position[ref].get(row[column], row[column])
            if name == "audit_events":
                _, _, old = row["target"].partition(":")
                row["target"] = position["submissions"][int(old)]
            rows.append(row)
        graph[name] = rows
    graph["challenges"][0].pop("slug")
    return graph


def _all(session: Any, model: Any, where: Any) -> list[Any]:
    return list(session.execute(select(model).where(where).order_by(model.id)).scalars())


def _artifacts(install: Install) -> dict[str, bytes]:
    return {key: install.storage.read_bytes(key) for key in install.storage.list("")}


def _counts(install: Install) -> dict[str, int]:
    with install.db.session() as session:
        return {
            t.name: int(session.execute(select(func.count()).select_from(t)).scalar_one())
            for t in Base.metadata.sorted_tables
        }


def _prefill_target(target: Install) -> None:
    """Other rows already here: one candidate and the reviewer share e-mails with the export."""
    with target.db.session() as session:
        factories.make_submission(session)
        _candidate(session, "ann@example.com", "Candidate Z")
        _candidate(session, "zed@example.com", "Candidate P1")
        _user(session, "rev@example.com", name="Local Rae")


# ---------------------------------------------------------------- round trips


def test_export_import_round_trips_every_record_and_artifact(
    source: Install, target: Install, tmp_path: Path
) -> None:
    _populate(source)
    _prefill_target(target)
    before = _counts(target)
    archive = tmp_path / "churn.zip"

    exported = backup.export_challenge(source.db, source.storage, "churn", archive)
    imported = backup.import_challenge(target.db, target.storage, archive)

    assert exported.missing == []
    assert exported.records["submissions"] == 4
    assert exported.records["challenges"] == 1
    assert imported.slug == "churn"
    assert _graph(target, "churn") == _graph(source, "churn")
    # every stored object the challenge references arrives byte for byte
    source_objects = _artifacts(source)
    target_objects = _artifacts(target)
    assert exported.artifacts == len(source_objects)
    for key, data in source_objects.items():
        assert target_objects[key] == data
    after = _counts(target)
    assert after["submissions"] - before["submissions"] == 4
    assert after["candidates"] - before["candidates"] == 1  # ann matched by e-mail
    assert after["users"] - before["users"] == 1  # the reviewer matched, the admin created
    with target.db.session() as session:
        admin = session.execute(select(User).where(User.email == "admin@example.com")).scalar_one()
        assert admin.disabled and admin.password_hash == "!"
        bob = session.execute(select(Candidate).where(Candidate.email == "bob@example.com"))
        assert bob.scalar_one().pseudonym == "Candidate P1 (2)"


def test_import_twice_needs_a_new_slug_and_reuses_identical_artifacts(
    source: Install, tmp_path: Path
) -> None:
    _populate(source)
    archive = tmp_path / "churn.zip"
    backup.export_challenge(source.db, source.storage, "churn", archive)
    with pytest.raises(InvalidInput, match=r"already exists here; .*--slug"):
        backup.import_challenge(source.db, source.storage, archive)
    # Same installation, new slug: invitations' token hashes clash, refused with a clear line.
    before, objects = _counts(source), _artifacts(source)
    with pytest.raises(InvalidInput, match="clashes with rows already here"):
        backup.import_challenge(source.db, source.storage, archive, slug="churn-copy")
    assert _counts(source) == before
    assert _artifacts(source) == objects


def test_import_moves_a_clashing_artifact_aside(
    source: Install, target: Install, tmp_path: Path
) -> None:
    _populate(source)
    target.storage.put_bytes("challenges/churn/1/answers.csv", b"someone else's file")
    archive = tmp_path / "churn.zip"
    backup.export_challenge(source.db, source.storage, "churn", archive)
    backup.import_challenge(target.db, target.storage, archive)
    assert target.storage.read_bytes("challenges/churn/1/answers.csv") == b"someone else's file"
    with target.db.session() as session:
        version = session.execute(select(Challenge).where(Challenge.slug == "churn")).scalar_one()
        key = version.versions[0].answer_key
    assert key.startswith("imported/") and key.endswith("/challenges/churn/1/answers.csv")
    assert target.storage.read_bytes(key) == source.storage.read_bytes(
        "challenges/churn/1/answers.csv"
    )


def test_export_unknown_slug_names_it(source: Install, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no challenge 'nope'"):
        backup.export_challenge(source.db, source.storage, "nope", tmp_path / "x.zip")


def test_cli_export_then_import(
    source: Install, target: Install, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _populate(source)
    archive = tmp_path / "out" / "churn.zip"
    runner = CliRunner()
    result = runner.invoke(main, ["export", "churn", "--out", str(archive)], env=source.env)
    assert result.exit_code == 0, result.output
    assert "exported churn" in result.output
    result = runner.invoke(main, ["import", str(archive), "--json"], env=target.env)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["slug"] == "churn" and payload["records"]["runs"] == 4
    refused = runner.invoke(main, ["import", str(archive)], env=target.env)
    assert refused.exit_code == 1
    assert "already exists" in refused.output


# ---------------------------------------------------------------- refusals


@pytest.fixture
def good_archive(source: Install, tmp_path: Path) -> Path:
    _populate(source)
    archive = tmp_path / "good.zip"
    backup.export_challenge(source.db, source.storage, "churn", archive)
    return archive


def _rewrite(
    src: Path,
    dst: Path,
    replace: dict[str, bytes] | None = None,
    add: list[tuple[zipfile.ZipInfo | str, bytes]] | None = None,
    drop: set[str] | None = None,
) -> Path:
    with zipfile.ZipFile(src) as old, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as new:
        for info in old.infolist():
            if info.filename in (drop or set()):
                continue
            new.writestr(info.filename, (replace or {}).get(info.filename, old.read(info)))
        for name, data in add or []:
            new.writestr(name, data)
    return dst


def _manifest_with(archive: Path, **changes: Any) -> bytes:
    with zipfile.ZipFile(archive) as found:
        manifest = json.loads(found.read("manifest.json"))
    manifest.update(changes)
    return json.dumps(manifest).encode()


def _records_with(archive: Path, change: Any) -> bytes:
    with zipfile.ZipFile(archive) as found:
        records = json.loads(found.read("records.json"))
    change(records["tables"])
    return json.dumps(records).encode()


def _symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o120777 << 16) | 0
    return info


def _zeros(size: int) -> bytes:
    return bytes(size)


REFUSALS: dict[str, tuple[Any, str]] = {
    "zip bomb ratio": (
        lambda a, d: _rewrite(a, d, add=[("artifacts/bomb.bin", _zeros(8 * 1024**2))]),
        "zip bomb",
    ),
    "path traversal": (
        lambda a, d: _rewrite(a, d, add=[("artifacts/../../etc/cron.d/x", b"x")]),
        "outside the archive",
    ),
    "absolute path": (lambda a, d: _rewrite(a, d, add=[("/etc/x", b"x")]), "outside the archive"),
    "symlink": (
        lambda a, d: _rewrite(a, d, add=[(_symlink("artifacts/link"), b"/etc/passwd")]),
        "symbolic link",
    ),
    "unlisted entry": (
        lambda a, d: _rewrite(a, d, add=[("artifacts/extra.txt", b"x")]),
        "does not match its manifest",
    ),
    "not a zip": (lambda a, d: (d.write_bytes(b"PK\x03\x04 garbage"), d)[1], "not a readable zip"),
    "manifest not json": (
        lambda a, d: _rewrite(a, d, replace={"manifest.json": b"{nope"}),
        "not valid JSON",
    ),
    "manifest wrong format": (
        lambda a, d: _rewrite(a, d, replace={"manifest.json": _manifest_with(a, format="x")}),
        "not a Heldout export manifest",
    ),
    "manifest bad artifact": (
        lambda a, d: _rewrite(
            a, d, replace={"manifest.json": _manifest_with(a, artifacts={"k/x": {"size": 1}})}
        ),
        "needs a sha256",
    ),
    "schema mismatch": (
        lambda a, d: _rewrite(
            a, d, replace={"manifest.json": _manifest_with(a, schema_revision="0000_future")}
        ),
        "schema 0000_future",
    ),
    "no manifest": (lambda a, d: _rewrite(a, d, drop={"manifest.json"}), "no manifest.json"),
    "tampered artifact": (
        lambda a, d: _rewrite(a, d, replace={"artifacts/challenges/churn/1/starter.ipynb": b"[]"}),
        "sha256",
    ),
    "unknown column": (
        lambda a, d: _rewrite(
            a,
            d,
            replace={"records.json": _records_with(a, lambda t: t["runs"][0].update(gpu_hours=3))},
        ),
        "does not fit the schema",
    ),
    "wrong type": (
        lambda a, d: _rewrite(
            a,
            d,
            replace={
                "records.json": _records_with(a, lambda t: t["runs"][0].update(attempt="one"))
            },
        ),
        "runs.attempt: 'one' is not a int",
    ),
    "dangling reference": (
        lambda a, d: _rewrite(
            a,
            d,
            replace={
                "records.json": _records_with(
                    a, lambda t: t["runs"][0].update(submission_id=999999)
                )
            },
        ),
        "refers to submissions 999999",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_import_refuses_bad_archives_without_writing(
    case: str, good_archive: Path, target: Install, tmp_path: Path
) -> None:
    _prefill_target(target)
    make, says = REFUSALS[case]
    bad = make(good_archive, tmp_path / "bad.zip")
    before, objects = _counts(target), _artifacts(target)
    with pytest.raises(InvalidInput, match=says):
        backup.import_challenge(target.db, target.storage, bad)
    assert _counts(target) == before
    assert _artifacts(target) == objects


@pytest.mark.parametrize(
    ("limits", "says"),
    [
        (Limits(max_total_bytes=1000), "unpacks to more than 1000 bytes"),
        (Limits(max_entries=3), "entries; at most 3"),
    ],
)
def test_import_enforces_size_and_entry_caps(
    limits: Limits, says: str, good_archive: Path, target: Install
) -> None:
    with pytest.raises(InvalidInput, match=says):
        backup.import_challenge(target.db, target.storage, good_archive, limits=limits)
    assert _counts(target)["challenges"] == 0


def test_a_failed_insert_removes_the_artifacts_it_wrote(
    good_archive: Path, target: Install, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: Any) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(backup, "_insert", fail)
    with pytest.raises(RuntimeError, match="disk full"):
        backup.import_challenge(target.db, target.storage, good_archive)
    assert _artifacts(target) == {}
    assert _counts(target)["challenges"] == 0


def test_header_lying_about_size_is_caught_while_reading(tmp_path: Path) -> None:
    from heldout.platform.services.archive import entry_chunks

    path = tmp_path / "liar.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a", b"x" * 5000)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("a")
        info.file_size = 10  # what a forged central directory would say
        with pytest.raises(InvalidInput, match=r"larger than its header|corrupt"):
            list(entry_chunks(archive, info, 10))


def test_export_is_readable_by_its_owner_only(source: Install, tmp_path: Path) -> None:
    _populate(source)
    archive = tmp_path / "churn.zip"
    backup.export_challenge(source.db, source.storage, "churn", archive)
    assert archive.stat().st_mode & 0o777 == 0o600


# ---------------------------------------------------------------- hostile rows

CODE = b"def score(y_true, y_pred):\n    return 1.0\n"
CODE_KEY = "challenges/churn/1/custom_metric.py"
SECRET = "challenges/secret/v1/0a1b/answers.csv"  # another challenge's answer key, stored here


def _tables(archive: Path) -> dict[str, list[dict[str, Any]]]:
    with zipfile.ZipFile(archive) as found:
        tables: dict[str, list[dict[str, Any]]] = json.loads(found.read("records.json"))["tables"]
    return tables


def _set_plot(key_of: Any) -> Any:
    def change(tables: dict[str, Any]) -> None:
        tables["submissions"][0]["grading"]["plots"]["roc"] = key_of(tables)

    return change


def _hostile(archive: Path, dst: Path, change: Any) -> Path:
    return _rewrite(archive, dst, replace={"records.json": _records_with(archive, change)})


def _with_custom_metric(archive: Path, dst: Path, custom: str = "custom_metric.py:score") -> Path:
    """The export with custom metric code added to its first version, as a build stores it."""

    def change(tables: dict[str, Any]) -> None:
        metric = {"name": "score", "custom": custom, "custom_key": CODE_KEY}
        tables["challenge_versions"][0]["spec"]["metric"] = metric

    artifacts = json.loads(zipfile.ZipFile(archive).read("manifest.json"))["artifacts"]
    artifacts[CODE_KEY] = {"sha256": hashlib.sha256(CODE).hexdigest(), "size": len(CODE)}
    return _rewrite(
        archive,
        dst,
        replace={
            "records.json": _records_with(archive, change),
            "manifest.json": _manifest_with(archive, artifacts=artifacts),
        },
        add=[(f"artifacts/{CODE_KEY}", CODE)],
    )


def _version_key(column: str) -> Any:
    return lambda tables: tables["challenge_versions"][0][column]


HOSTILE: dict[str, tuple[Any, str]] = {
    "plot names another challenge's answer key": (
        _set_plot(lambda tables: SECRET),
        "submissions.grading.plots.roc .* is not in the archive",
    ),
    "plot names this challenge's answer key": (
        _set_plot(_version_key("answer_key")),
        "belongs to one only",
    ),
    "plot names another submission's plot": (
        _set_plot(lambda tables: tables["submissions"][1]["grading"]["plots"]["roc"]),
        "belongs to one only",
    ),
    "run output names another submission's notebook run": (
        lambda tables: tables["runs"][0].update(executed_key=tables["runs"][1]["executed_key"]),
        "belongs to one only",
    ),
    "bundle is the answer key": (
        lambda tables: tables["challenge_versions"][0].update(
            bundle_key=tables["challenge_versions"][0]["answer_key"]
        ),
        "belongs to one only",
    ),
    "candidate view names a foreign object": (
        lambda tables: tables["submissions"][0].update(candidate_view={"executed_key": SECRET}),
        "candidate_view.executed_key .* is not in the archive",
    ),
    "run result names a foreign object": (
        lambda tables: tables["runs"][0].update(result={"status": "ok", "file": SECRET}),
        "runs.result of runs .* names the stored object",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_import_refuses_rows_naming_objects_not_their_own(
    case: str, good_archive: Path, target: Install, tmp_path: Path
) -> None:
    _prefill_target(target)
    target.storage.put_bytes(SECRET, b"id,label\n1,1\n")
    change, says = HOSTILE[case]
    bad = _hostile(good_archive, tmp_path / "bad.zip", change)
    before, objects = _counts(target), _artifacts(target)
    with pytest.raises(InvalidInput, match=says):
        backup.import_challenge(target.db, target.storage, bad, trust_code=True)
    assert _counts(target) == before
    assert _artifacts(target) == objects


def test_a_key_listed_as_missing_never_names_an_object_stored_here(
    good_archive: Path, target: Install, tmp_path: Path
) -> None:
    target.storage.put_bytes(SECRET, b"id,label\n1,1\n")
    edited = _hostile(good_archive, tmp_path / "edited.zip", _set_plot(lambda tables: SECRET))
    bad = _rewrite(
        edited,
        tmp_path / "bad.zip",
        replace={"manifest.json": _manifest_with(edited, missing_artifacts=[SECRET])},
    )
    backup.import_challenge(target.db, target.storage, bad)
    with target.db.session() as session:
        plots = [
            (s.grading or {})["plots"]["roc"] for s in session.execute(select(Submission)).scalars()
        ]
    moved = [key for key in plots if key.endswith(SECRET)]
    assert len(moved) == 1 and moved[0].startswith("imported/") and moved[0] != SECRET
    assert not target.storage.exists(moved[0])


@pytest.mark.parametrize("custom", ["../../escape.py:score", "sub/metric.py:score", "..:score"])
def test_a_custom_metric_file_must_be_a_bare_name_even_when_trusted(
    custom: str, good_archive: Path, target: Install, tmp_path: Path
) -> None:
    bad = _with_custom_metric(good_archive, tmp_path / "bad.zip", custom)
    with pytest.raises(InvalidInput, match="must be a bare file name"):
        backup.import_challenge(target.db, target.storage, bad, trust_code=True)
    assert _counts(target)["challenges"] == 0
    assert _artifacts(target) == {}


def test_custom_metric_code_needs_trust_code(
    good_archive: Path, target: Install, tmp_path: Path
) -> None:
    archive = _with_custom_metric(good_archive, tmp_path / "custom.zip")
    runner = CliRunner()
    refused = runner.invoke(main, ["import", str(archive)], env=target.env)
    assert refused.exit_code == 1
    assert refused.output.startswith("error: the archive carries custom metric code")
    assert "--trust-code" in refused.output and len(refused.output.splitlines()) == 1
    assert _counts(target)["challenges"] == 0
    assert _artifacts(target) == {}

    trusted = runner.invoke(main, ["import", str(archive), "--trust-code"], env=target.env)
    assert trusted.exit_code == 0, trusted.output
    digest = hashlib.sha256(CODE).hexdigest()
    assert f"trusted custom metric code {CODE_KEY}: sha256 {digest}" in trusted.output
    assert target.storage.read_bytes(CODE_KEY) == CODE
    with target.db.session() as session:
        challenge = session.execute(select(Challenge)).scalar_one()
        assert challenge.versions[0].spec["metric"]["custom_key"] == CODE_KEY
