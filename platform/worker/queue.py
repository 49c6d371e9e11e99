"""The database is the queue: claims with a lease, heartbeats, exactly-once completion.

PostgreSQL claims with `FOR UPDATE SKIP LOCKED` and serializes one candidate's claims on the
candidate row; SQLite claims with one atomic conditional UPDATE (SQLite has a single writer).
Every state change after a claim is conditional on still holding the lease, so a worker that
lost its lease (killed, paused, partitioned) can never record a result: each submission ends
scored exactly once or failed with a reason. This module owns every state change of a
submission after it is created: claim, heartbeat, complete, release and regrade.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, exists, not_, or_, select, update
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from heldout.platform.db import Database
from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.models import Candidate, Challenge, ChallengeVersion, Submission, utcnow


@dataclass(frozen=True)
class Claim:
    submission_id: int
    attempt: int
    worker: str


def _claimable(now: Any) -> ColumnElement[bool]:
    queued = and_(
        Submission.status == "queued",
        or_(Submission.not_before.is_(None), Submission.not_before <= now),
    )
    expired = and_(Submission.status == "running", Submission.lease_expires_at < now)
    other = aliased(Submission)
    busy = exists().where(
        other.candidate_id == Submission.candidate_id,
        other.id != Submission.id,
        other.status == "running",
        other.lease_expires_at >= now,
    )
    # At most one running submission per candidate: the others wait their turn.
    return and_(or_(queued, expired), not_(busy))


def claim(db: Database, worker: str, lease_s: int) -> Claim | None:
    """Take the oldest claimable submission, or None when there is nothing to do."""
    if db.dialect == "postgresql":
        return _claim_postgres(db, worker, lease_s)
    return _claim_sqlite(db, worker, lease_s)


def _claim_sqlite(db: Database, worker: str, lease_s: int) -> Claim | None:
    now = utcnow()
    pick = select(Submission.id).where(_claimable(now)).order_by(Submission.id).limit(1)
    with db.session() as session:
        row = session.execute(
            update(Submission)
            .where(Submission.id == pick.scalar_subquery(), _claimable(now))
            .values(
                status="running",
                lease_owner=worker,
                lease_expires_at=now + timedelta(seconds=lease_s),
                attempts=Submission.attempts + 1,
                started_at=now,
            )
            .returning(Submission.id, Submission.attempts)
        ).first()
    return Claim(row[0], row[1], worker) if row else None


def _claim_postgres(db: Database, worker: str, lease_s: int) -> Claim | None:
    for _ in range(10):  # another worker may win the candidate; try the next one
        with db.session() as session:
            now = utcnow()
            found = session.execute(
                select(Submission.id, Submission.candidate_id)
                .where(_claimable(now))
                .order_by(Submission.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if found is None:
                return None
            sub_id, candidate_id = found
            # Serialize claims of one candidate, then re-check under that lock.
            session.execute(
                select(Candidate.id).where(Candidate.id == candidate_id).with_for_update()
            )
            still = session.execute(
                select(Submission.id).where(Submission.id == sub_id, _claimable(utcnow()))
            ).first()
            if still is None:
                continue
            row = session.execute(
                update(Submission)
                .where(Submission.id == sub_id)
                .values(
                    status="running",
                    lease_owner=worker,
                    lease_expires_at=now + timedelta(seconds=lease_s),
                    attempts=Submission.attempts + 1,
                    started_at=now,
                )
                .returning(Submission.attempts)
            ).one()
            return Claim(sub_id, row[0], worker)
    return None


def _held(claim: Claim) -> ColumnElement[bool]:
    return and_(
        Submission.id == claim.submission_id,
        Submission.status == "running",
        Submission.lease_owner == claim.worker,
        Submission.attempts == claim.attempt,
    )


def heartbeat(db: Database, claim: Claim, lease_s: int) -> bool:
    """Extend the lease; False means it was lost and the work must be abandoned."""
    with db.session() as session:
        result = session.execute(
            update(Submission)
            .where(_held(claim))
            .values(lease_expires_at=utcnow() + timedelta(seconds=lease_s))
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def complete(session: Session, claim: Claim, **values: Any) -> bool:
    """Record the final state inside the caller's transaction, only while holding the lease."""
    result = session.execute(
        update(Submission)
        .where(_held(claim))
        .values(lease_owner=None, lease_expires_at=None, finished_at=utcnow(), **values)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release(db: Database, claim: Claim, delay_s: float = 0, attempt_used: bool = False) -> bool:
    """Put the submission back in the queue (shutdown, or a retry after a platform error)."""
    with db.session() as session:
        values: dict[str, Any] = {
            "status": "queued",
            "lease_owner": None,
            "lease_expires_at": None,
            "not_before": utcnow() + timedelta(seconds=delay_s) if delay_s else None,
        }
        if not attempt_used:  # a graceful release gives the attempt back
            values["attempts"] = Submission.attempts - 1
        result = session.execute(update(Submission).where(_held(claim)).values(**values))
        return bool(result.rowcount)  # type: ignore[attr-defined]


def depth(db: Database) -> int:
    """Submissions waiting to run."""
    from sqlalchemy import func

    with db.session() as session:
        return (
            session.scalar(select(func.count(Submission.id)).where(Submission.status == "queued"))
            or 0
        )


def regrade(db: Database, submission_id: int | None = None, slug: str | None = None) -> int:
    """Queue finished submissions again, against the version each was made for; how many."""
    if (submission_id is None) == (slug is None):
        raise InvalidInput("give a submission id or --challenge SLUG")
    with db.session() as session:
        query = update(Submission).where(Submission.status.in_(("scored", "failed")))
        if submission_id is not None:
            sub = session.get(Submission, submission_id)
            if sub is None:
                raise NotFound(f"no submission {submission_id}")
            if sub.status in ("queued", "running"):
                raise InvalidInput(f"submission {submission_id} is already {sub.status}")
            query = query.where(Submission.id == submission_id)
        else:
            challenge = session.scalars(select(Challenge).where(Challenge.slug == slug)).first()
            if challenge is None:
                raise NotFound(f"no challenge {slug!r}")
            versions = select(ChallengeVersion.id).where(
                ChallengeVersion.challenge_id == challenge.id
            )
            query = query.where(Submission.version_id.in_(versions))
        result = session.execute(
            query.values(
                status="queued",
                failure=None,
                failure_message=None,
                failure_detail=None,
                candidate_view=None,
                public_score=None,
                private_score=None,
                grading=None,
                attempts=0,
                not_before=None,
                lease_owner=None,
                lease_expires_at=None,
                finished_at=None,
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]
