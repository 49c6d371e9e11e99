"""Challenges on the platform: build a kit into a new immutable version, publish, list, show.

Artifacts are stored first under `challenges/<slug>/v<N>/`, then one transaction records the
version; if anything fails, the artifacts of that attempt are removed. The per-challenge
HMAC secret is made on the first build and reused, so pseudonyms survive rebuilds.
"""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from heldout.challenges import ChallengeSpec, load_spec
from heldout.challenges import build as build_kit
from heldout.challenges.builder import Progress
from heldout.platform.db import Database
from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.models import Challenge, ChallengeVersion
from heldout.platform.runtime import runtime
from heldout.platform.storage import CHUNK, Storage


@dataclass(frozen=True)
class VersionInfo:
    """A challenge and one of its versions, as callers (CLI, web) see them: no secret."""

    slug: str
    title: str
    state: str
    version: int
    versions: int
    brief: str
    metric: str
    spec: dict[str, Any]
    report: dict[str, Any]
    bundle_key: str
    sandbox_key: str
    answer_key: str
    starter_key: str | None
    data_sha256: str
    created_at: str

    def summary(self) -> dict[str, Any]:
        """The short JSON form printed by `heldout challenge build --json` and `list`."""
        report = self.report
        return {
            "slug": self.slug,
            "title": self.title,
            "state": self.state,
            "version": self.version,
            "metric": self.metric,
            "data_sha256": self.data_sha256,
            "rows": report.get("rows", {}),
            "k_achieved": report.get("k_achieved"),
            "rows_suppressed": report.get("rows_suppressed", 0),
            "bundle_key": self.bundle_key,
        }


def _info(challenge: Challenge, version: ChallengeVersion) -> VersionInfo:
    return VersionInfo(
        slug=challenge.slug,
        title=challenge.title,
        state=challenge.state,
        version=version.number,
        versions=len(challenge.versions),
        brief=version.brief,
        metric=version.metric,
        spec=version.spec,
        report=version.report,
        bundle_key=version.bundle_key,
        sandbox_key=version.sandbox_key,
        answer_key=version.answer_key,
        starter_key=version.starter_key,
        data_sha256=version.data_sha256,
        created_at=version.created_at.isoformat(timespec="seconds"),
    )


def _challenge(session: Session, slug: str) -> Challenge:
    challenge = session.scalars(select(Challenge).where(Challenge.slug == slug)).one_or_none()
    if challenge is None:
        raise NotFound(f"no challenge {slug!r}; `heldout challenge list` shows the slugs")
    return challenge


def _secret_and_next(db: Database, slug: str) -> tuple[str, int]:
    """The challenge's secret (made on the first build) and the next version number."""
    with db.session() as session:
        challenge = session.scalars(select(Challenge).where(Challenge.slug == slug)).one_or_none()
        if challenge is None:
            return secrets.token_hex(32), 1
        latest = session.scalar(
            select(func.max(ChallengeVersion.number)).where(
                ChallengeVersion.challenge_id == challenge.id
            )
        )
        return challenge.secret, (latest or 0) + 1


def build(
    db: Database, storage: Storage, kit: Path, progress: Progress | None = None
) -> VersionInfo:
    """Build the kit at `kit` into a new version of its challenge (created on first build)."""
    spec = load_spec(kit)
    storage.check()  # fail before minutes of work, not after
    secret, number = _secret_and_next(db, spec.slug)
    # A random attempt folder: two builds racing for the same number never share keys, so
    # the loser can remove exactly what it stored.
    prefix = f"challenges/{spec.slug}/v{number}/{secrets.token_hex(4)}"
    stored: list[str] = []
    try:
        with tempfile.TemporaryDirectory(prefix="heldout-build-") as tmp:
            extra = [("requirements.txt", runtime().requirements_txt())]
            output = build_kit(spec, secret, Path(tmp), progress, extra)
            files = {
                "bundle.zip": output.bundle_zip,
                "sandbox.zip": output.sandbox_zip,
                "answers.csv": output.answers_csv,
                "report.json": output.report_json,
            }
            if output.starter is not None:
                files["starter.ipynb"] = output.starter
            if spec.metric.custom:  # the admin's metric code, for the workers that grade
                files[CUSTOM_METRIC] = kit / spec.metric.custom.partition(":")[0]
            for name, path in files.items():
                key = f"{prefix}/{name}"
                stored.append(key)
                storage.put_file(key, path, _content_type(name))
        with db.session() as session:
            challenge = session.scalars(
                select(Challenge).where(Challenge.slug == spec.slug)
            ).one_or_none()
            if challenge is None:
                challenge = Challenge(slug=spec.slug, title=spec.title, secret=secret)
                session.add(challenge)
            challenge.title = spec.title
            version = ChallengeVersion(
                challenge=challenge,
                number=number,
                spec=_stored_spec(spec, prefix),
                brief=spec.brief,
                metric=spec.metric.name,
                bundle_key=f"{prefix}/bundle.zip",
                sandbox_key=f"{prefix}/sandbox.zip",
                answer_key=f"{prefix}/answers.csv",
                starter_key=f"{prefix}/starter.ipynb" if output.starter else None,
                data_sha256=output.data_sha256,
                report=output.report,
            )
            session.add(version)
            session.flush()
            session.refresh(challenge)
            return _info(challenge, version)
    except IntegrityError:
        _remove(storage, stored)
        raise InvalidInput(
            f"another build of {spec.slug!r} recorded version {number} first; build again"
        ) from None
    except BaseException:
        _remove(storage, stored)
        raise


CUSTOM_METRIC = "custom_metric.py"


def _stored_spec(spec: ChallengeSpec, prefix: str) -> dict[str, Any]:
    """The spec as stored with the version; a custom metric's code is found by its key."""
    stored = spec.to_dict()
    if spec.metric.custom:
        stored["metric"]["custom_key"] = f"{prefix}/{CUSTOM_METRIC}"
    return stored


def _remove(storage: Storage, keys: list[str]) -> None:
    for key in keys:
        storage.delete(key)


def _content_type(name: str) -> str:
    return {
        ".zip": "application/zip",
        ".csv": "text/csv",
        ".json": "application/json",
        ".ipynb": "application/x-ipynb+json",
    }.get(Path(name).suffix, "application/octet-stream")


def publish(db: Database, slug: str) -> VersionInfo:
    """Open the challenge to invitations (it needs at least one built version)."""
    with db.session() as session:
        challenge = _challenge(session, slug)
        if not challenge.versions:
            raise InvalidInput(f"{slug!r} has no built version; run `heldout challenge build`")
        challenge.state = "published"
        return _info(challenge, challenge.versions[-1])


def close(db: Database, slug: str) -> VersionInfo:
    """Stop new invitations and submissions; existing work stays gradable."""
    with db.session() as session:
        challenge = _challenge(session, slug)
        if not challenge.versions:
            raise InvalidInput(f"{slug!r} has no built version")
        challenge.state = "closed"
        return _info(challenge, challenge.versions[-1])


def list_challenges(db: Database) -> list[VersionInfo]:
    """Every challenge with a built version, newest version each, by slug."""
    with db.session() as session:
        challenges = session.scalars(select(Challenge).order_by(Challenge.slug)).all()
        return [_info(c, c.versions[-1]) for c in challenges if c.versions]


def show(db: Database, slug: str, number: int | None = None) -> VersionInfo:
    """One version (the newest by default), with its anonymization report."""
    with db.session() as session:
        challenge = _challenge(session, slug)
        versions = {v.number: v for v in challenge.versions}
        if not versions:
            raise NotFound(f"{slug!r} has no built version")
        if number is None:
            number = max(versions)
        if number not in versions:
            raise NotFound(f"{slug!r} has no version {number}; it has {sorted(versions)}")
        return _info(challenge, versions[number])


def current_version(db: Database, slug: str, published_only: bool = True) -> VersionInfo:
    """What the web layer serves: the newest version of a (published) challenge."""
    info = show(db, slug)
    if published_only and info.state != "published":
        raise NotFound(f"challenge {slug!r} is not open")
    return info


def open_bundle(db: Database, storage: Storage, slug: str, number: int | None = None) -> BinaryIO:
    """The stored candidate bundle: exactly the bytes candidates download."""
    return storage.open(show(db, slug, number).bundle_key)


def write_bundle(
    db: Database, storage: Storage, slug: str, out: Path, number: int | None = None
) -> int:
    """Copy the stored bundle to `out` byte for byte; returns the size."""
    out.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with open_bundle(db, storage, slug, number) as src, out.open("wb") as dst:
        while chunk := src.read(CHUNK):
            dst.write(chunk)
            size += len(chunk)
    return size
