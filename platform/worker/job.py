"""A claimed submission's job: its immutable facts and its inputs (data, answer key, limits)."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from heldout.challenges.limits import LimitsSpec
from heldout.graders import Answers
from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.errors import NotFound
from heldout.platform.models import Submission
from heldout.platform.storage import Storage
from heldout.platform.worker import queue
from heldout.sandbox import Backend, Limits
from heldout.sandbox.notebook import file_sha256

# The candidate bundle's data files, the only members a candidate run gets.
BUNDLE_DATA = {"data/train.csv": "train.csv", "data/test.csv": "test.csv"}


@dataclass
class Context:
    """What every run needs, shared by a worker's threads."""

    config: Config
    db: Database
    storage: Storage
    backend: Backend
    worker: str
    cache: Path
    lease_s: int
    max_attempts: int
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def lock(self, name: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(name, threading.Lock())


@dataclass(frozen=True)
class Job:
    """The immutable facts about a claimed submission, read once."""

    submission_id: int
    notebook_key: str
    version_id: int
    sandbox_key: str
    bundle_key: str
    answer_key: str
    data_sha256: str
    metric: str
    spec: dict[str, Any]


def load_job(ctx: Context, claim: queue.Claim) -> Job:
    with ctx.db.session() as session:
        sub = session.get(Submission, claim.submission_id)
        if sub is None:
            raise NotFound(f"submission {claim.submission_id} vanished")
        v = sub.version
        return Job(
            sub.id,
            sub.notebook_key,
            v.id,
            v.sandbox_key,
            v.bundle_key,
            v.answer_key,
            v.data_sha256,
            v.metric,
            v.spec,
        )


def sandbox_inputs(ctx: Context, job: Job) -> Path:
    """The challenge's sandbox inputs (all test rows), unpacked once per data hash, read-only."""
    return _unpacked(ctx, "data", job.data_sha256, job.sandbox_key, lambda name: Path(name).name)


def candidate_inputs(ctx: Context, job: Job) -> tuple[Path, str]:
    """train.csv and test.csv from the candidate bundle (exactly what the candidate downloaded),
    unpacked once per bundle and cached; returns the folder and the bundle's sha256.

    Bundle keys are written once per version, so the cache is keyed by the key's hash and the
    bundle's own hash is recorded beside the files as it is unpacked.
    """
    folder = _unpacked(
        ctx,
        "bundle",
        hashlib.sha256(job.bundle_key.encode()).hexdigest(),
        job.bundle_key,
        BUNDLE_DATA.get,
    )
    return folder, (folder.parent / f"{folder.name}.sha256").read_text().strip()


def _unpacked(
    ctx: Context, kind: str, name: str, key: str, member_name: Callable[[str], str | None]
) -> Path:
    target = ctx.cache / kind / name
    with ctx.lock(f"{kind}-{name}"):
        if target.is_dir():
            return target
        staging = Path(tempfile.mkdtemp(dir=ctx.cache, prefix=f".{kind}-"))
        archive_path = staging.with_suffix(".zip")  # beside, so no member can overwrite it
        try:
            ctx.storage.get_file(key, archive_path)  # streamed, never all in memory
            digest = file_sha256(archive_path)
            with zipfile.ZipFile(archive_path) as archive:
                for member in archive.infolist():
                    wanted = None if member.is_dir() else member_name(member.filename)
                    if not wanted or Path(wanted).name != wanted:  # admin-built, never trust paths
                        continue
                    with archive.open(member) as src, (staging / wanted).open("wb") as dst:
                        shutil.copyfileobj(src, dst)
            target.parent.mkdir(parents=True, exist_ok=True)
            (target.parent / f"{name}.sha256").write_text(digest)
            staging.rename(target)
        finally:
            archive_path.unlink(missing_ok=True)
            shutil.rmtree(staging, ignore_errors=True)
    return target


def read_answers(ctx: Context, job: Job) -> Answers:
    """The answer key (the one place it is read); it never enters a container.

    Ids are read as text, as the build wrote them ("007" stays "007").
    """
    import pandas as pd

    data = job.spec["data"]
    with ctx.storage.open(job.answer_key) as stream:
        frame = pd.read_csv(stream, dtype={data["id"]: str})
    return Answers.from_table(frame, data["id"], data["target"])


def limits_for(job: Job) -> Limits:
    limits = LimitsSpec.from_stored(job.spec.get("limits"))
    return Limits(timeout_s=float(limits.timeout_s), memory_mb=limits.memory_mb, cpus=limits.cpus)
