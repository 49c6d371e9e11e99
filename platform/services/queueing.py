"""Admin reads of the queue: list submissions (state changes live in worker/queue.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from heldout.platform.db import Database
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
                "failure_message": s.failure_message,
                "public_score": s.public_score,
                "private_score": s.private_score,
                "attempts": s.attempts,
                "submitted_at": s.created_at,
            }
            for s in session.scalars(query)
        ]
