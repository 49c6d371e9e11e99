"""Submissions from the candidate's side: accept a notebook, enforce limits, report status."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from heldout.platform.db import Database
from heldout.platform.errors import InvalidInput, LimitReached, NotFound
from heldout.platform.failures import COUNTED
from heldout.platform.models import Challenge, Invitation, Submission
from heldout.platform.storage import Storage

DEFAULT_LIMIT = 5


def check_notebook(data: bytes, max_bytes: int) -> None:
    """Refuse what is not a runnable notebook, with the sandbox's own words for it."""
    from heldout.sandbox.notebook import Rejected, check_notebook_bytes

    try:
        check_notebook_bytes(data, max(1, max_bytes // 2**20))
    except Rejected as exc:
        message = str(exc)
        raise InvalidInput(message[:1].upper() + message[1:] + ".") from None


@dataclass(frozen=True)
class Quota:
    limit: int
    used: int

    @property
    def left(self) -> int:
        return max(self.limit - self.used, 0)


def _counted(session: Session, invitation_id: int) -> int:
    """Submissions that count: all but those failed by the platform's own fault."""
    return (
        session.scalar(
            select(func.count(Submission.id)).where(
                Submission.invitation_id == invitation_id,
                or_(Submission.failure.is_(None), Submission.failure.in_(COUNTED)),
            )
        )
        or 0
    )


def quota(db: Database, invitation_id: int) -> Quota:
    with db.session() as session:
        invitation = session.get(Invitation, invitation_id)
        if invitation is None:
            raise NotFound("no such invitation")
        return Quota(_limit(invitation.challenge), _counted(session, invitation_id))


def _limit(challenge: Challenge) -> int:
    version = challenge.latest
    limits = (version.spec.get("limits") or {}) if version else {}
    return int(limits.get("submissions", DEFAULT_LIMIT))


def submit(
    db: Database,
    storage: Storage,
    invitation_id: int,
    stream: IO[bytes],
    filename: str,
    max_bytes: int,
) -> dict[str, Any]:
    """Validate and store a notebook, then queue it; returns its public view."""
    data = stream.read(max_bytes + 1)
    check_notebook(data, max_bytes)
    with db.session() as session:
        invitation = session.get(Invitation, invitation_id)
        if invitation is None:
            raise NotFound("no such invitation")
        challenge = invitation.challenge
        if challenge.state == "closed":
            raise InvalidInput("This challenge is closed; it no longer accepts submissions.")
        limit = _limit(challenge)
        if _counted(session, invitation_id) >= limit:
            raise LimitReached(
                f"You have used all {limit} submissions for this challenge. "
                "Your best scored submission is kept; choose which one is final on the "
                "challenge page."
            )
    key, sha, size = storage.put_content_addressed(
        "submissions", io.BytesIO(data), ".ipynb", "application/x-ipynb+json"
    )
    with db.session() as session:
        invitation = session.get(Invitation, invitation_id)
        if invitation is None:
            raise NotFound("no such invitation")
        # Re-check under this transaction: two uploads at once must not both pass the limit.
        if _counted(session, invitation_id) >= _limit(invitation.challenge):
            raise LimitReached("You have used all your submissions for this challenge.")
        version = invitation.challenge.latest
        if version is None:
            raise NotFound("this challenge has no build to submit against")
        submission = Submission(
            invitation_id=invitation.id,
            candidate_id=invitation.candidate_id,
            version_id=version.id,
            notebook_key=key,
            notebook_sha256=sha,
            notebook_size=size,
            filename=_clean_name(filename),
        )
        session.add(submission)
        session.flush()
        return public_view(submission)


def _clean_name(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip() or "solution.ipynb"
    return "".join(c for c in name if c.isprintable())[:200]


def public_view(submission: Submission) -> dict[str, Any]:
    """What the candidate may see: the public score and the worker's candidate view, nothing
    else of the run (its messages and notebook saw the private test rows)."""
    seen = submission.candidate_view or {}
    failure = seen.get("failure") if submission.status == "failed" else None
    return {
        "id": submission.id,
        "status": submission.status,
        "public_score": submission.public_score,
        "metric": submission.version.metric,
        "failure": dict(failure) if failure else None,
        "submitted_at": submission.created_at.isoformat() + "Z",
        "finished_at": submission.finished_at.isoformat() + "Z" if submission.finished_at else None,
        "run_time_s": seen.get("run_time_s"),
        "filename": submission.filename,
        "version": submission.version.number,
    }


def get(db: Database, invitation_id: int, submission_id: int) -> dict[str, Any]:
    """One submission, only if it belongs to this invitation (404 otherwise, never 403)."""
    with db.session() as session:
        submission = session.get(Submission, submission_id)
        if submission is None or submission.invitation_id != invitation_id:
            raise NotFound(f"no submission {submission_id}")
        return public_view(submission)


def list_for(db: Database, invitation_id: int) -> list[dict[str, Any]]:
    with db.session() as session:
        found = session.scalars(
            select(Submission)
            .where(Submission.invitation_id == invitation_id)
            .order_by(Submission.id.desc())
        ).all()
        return [public_view(s) for s in found]


def executed_key(db: Database, invitation_id: int, submission_id: int) -> str:
    """Storage key of the candidate's executed notebook: the candidate run's, never the scored's."""
    with db.session() as session:
        submission = session.get(Submission, submission_id)
        if submission is None or submission.invitation_id != invitation_id:
            raise NotFound(f"no submission {submission_id}")
        key = (submission.candidate_view or {}).get("executed_key")
        if not key:
            raise NotFound("this submission has no executed notebook to show")
        return str(key)
