"""Admin operations on the queue: list submissions and regrade them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from heldout.platform.db import Database
from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.models import Challenge, ChallengeVersion, Submission


def list_submissions(
    db: Database, slug: str | None = None, status: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    with db.session() as session:
        query = (
            select(Submission)
            .join(ChallengeVersion)
            .join(Challenge)
            .order_by(Submission.id.desc())
            .limit(limit)
        )
        if slug:
            query = query.where(Challenge.slug == slug)
        if status:
            query = query.where(Submission.status == status)
        return [
            {
                "id": s.id,
                "challenge": s.version.challenge.slug,
                "version": s.version.number,
                "candidate": s.candidate.email,
                "status": s.status,
                "failure": s.failure,
                "public_score": s.public_score,
                "private_score": s.private_score,
                "attempts": s.attempts,
                "submitted_at": s.created_at,
            }
            for s in session.scalars(query)
        ]


def regrade(db: Database, submission_id: int | None = None, slug: str | None = None) -> int:
    """Queue submissions again, against the version each was made for; returns how many."""
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
