"""Submissions from the candidate's side: accept a notebook, enforce limits, report status."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from heldout.challenges.limits import LimitsSpec
from heldout.platform.db import Database
from heldout.platform.errors import InvalidInput, LimitReached, NotFound
from heldout.platform.failures import COUNTED
from heldout.platform.models import Challenge, Invitation, Submission, utcnow
from heldout.platform.runtime import runtime
from heldout.platform.services import preflight, rendering
from heldout.platform.storage import Storage


def check_notebook(data: bytes, max_bytes: int) -> None:
    """Refuse what is not a runnable notebook, with the sandbox's own words for it."""
    from heldout.sandbox.notebook import Rejected, check_notebook_bytes

    try:
        check_notebook_bytes(data, max(1, max_bytes // 2**20))
    except Rejected as exc:
        message = str(exc)
        raise InvalidInput(message[:1].upper() + message[1:] + ".") from None


@dataclass(frozen=True)
class Count:
    """One cap: `used` finished tries that count, `pending` ones still queued or running."""

    limit: int
    used: int
    pending: int = 0

    @property
    def left(self) -> int:
        return max(self.limit - self.used - self.pending, 0)

    def as_json(self) -> dict[str, int]:
        return {"limit": self.limit, "used": self.used, "left": self.left, "pending": self.pending}


@dataclass(frozen=True)
class Quota:
    """A candidate's two caps: scored submissions, and attempts (every charged run).

    Platform and challenge faults count against neither; a run failed by the candidate's own
    fault uses an attempt but gives its scored submission back.
    """

    submissions: Count
    attempts: Count
    granted: int = 0

    @property
    def left(self) -> int:
        """How many more notebooks may be submitted now."""
        return min(self.submissions.left, self.attempts.left)

    def refusal(self) -> str | None:
        """Why a new submission is refused now, naming the rule and the page; None if it is not."""
        if self.attempts.left == 0:
            return (
                f"You have used all {self.attempts.limit} attempts for this challenge "
                "(every run counts as an attempt, failed runs included, unless the failure was "
                "on our side). Ask the company if you need more; your submissions so far are "
                "kept, and you choose which one is final on the Submissions page."
            )
        if self.submissions.left == 0:
            pending = self.submissions.pending
            wait = (
                f" {pending} of them {'is' if pending == 1 else 'are'} still running: if "
                f"{'it fails' if pending == 1 else 'one fails'} because of your notebook, "
                "you get that try back."
                if pending
                else ""
            )
            return (
                f"You have used all {self.submissions.limit} scored submissions for this "
                f"challenge.{wait} Your submissions so far are kept; you choose which one is "
                "final on the Submissions page (by default your latest scored one)."
            )
        return None


ACTIVE = ("queued", "running")


def _quota(session: Session, invitation: Invitation) -> Quota:
    """Count one invitation's tries against its challenge's caps plus any granted extra."""
    limits = _limits(invitation.challenge)
    rows = session.execute(
        select(Submission.status, func.count(Submission.id))
        .where(
            Submission.invitation_id == invitation.id,
            or_(Submission.failure.is_(None), Submission.failure.in_(COUNTED)),
        )
        .group_by(Submission.status)
    ).all()
    by_status = {status: int(n) for status, n in rows}
    pending = sum(by_status.get(status, 0) for status in ACTIVE)
    charged = sum(by_status.values()) - pending
    granted = invitation.extra_tries
    return Quota(
        submissions=Count(limits.submissions + granted, by_status.get("scored", 0), pending),
        attempts=Count(limits.attempts + granted, charged, pending),
        granted=granted,
    )


def quota(db: Database, invitation_id: int) -> Quota:
    with db.session() as session:
        invitation = session.get(Invitation, invitation_id)
        if invitation is None:
            raise NotFound("no such invitation")
        return _quota(session, invitation)


def _limits(challenge: Challenge) -> LimitsSpec:
    version = challenge.latest
    return LimitsSpec.from_stored(version.spec.get("limits") if version else None)


def submit(
    db: Database,
    storage: Storage,
    invitation_id: int,
    stream: IO[bytes],
    filename: str,
    max_bytes: int,
) -> dict[str, Any]:
    """Validate and store a notebook, then queue it; returns its public view with the static
    read's `warnings` (likely failures that do not stop the upload)."""
    data = stream.read(max_bytes + 1)
    check_notebook(data, max_bytes)
    warnings = preflight.read(data, runtime())
    with db.session() as session:
        invitation = session.get(Invitation, invitation_id)
        if invitation is None:
            raise NotFound("no such invitation")
        challenge = invitation.challenge
        if challenge.state == "closed":
            raise InvalidInput("This challenge is closed; it no longer accepts submissions.")
        refusal = _quota(session, invitation).refusal()
        if refusal:
            raise LimitReached(refusal)
    key, sha, size = storage.put_content_addressed(
        "submissions", io.BytesIO(data), ".ipynb", "application/x-ipynb+json"
    )
    with db.session() as session:
        # Re-check under this transaction, the invitation's row locked (PostgreSQL): two
        # uploads at once must not both pass the limit.
        invitation = session.scalars(
            select(Invitation).where(Invitation.id == invitation_id).with_for_update()
        ).first()
        if invitation is None:
            raise NotFound("no such invitation")
        refusal = _quota(session, invitation).refusal()
        if refusal:
            raise LimitReached(refusal)
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
        return {**public_view(submission), "warnings": warnings}


def _clean_name(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip() or "solution.ipynb"
    return "".join(c for c in name if c.isprintable())[:200]


def public_view(submission: Submission) -> dict[str, Any]:
    """What the candidate may see: the public score and the worker's candidate view, nothing
    else of the run (its messages and notebook saw the private test rows)."""
    seen = submission.candidate_view or {}
    failure = seen.get("failure") if submission.status == "failed" else None
    if failure:
        # The candidate's own failing line, read from the candidate run's traceback (the only
        # traceback the view holds), so that the help starts there and not in a library.
        failure = {**failure, "line": rendering.failing_line(failure.get("traceback"))}
    return {
        "id": submission.id,
        "status": submission.status,
        "public_score": submission.public_score,
        "metric": submission.version.metric,
        "failure": failure or None,
        "submitted_at": submission.created_at.isoformat() + "Z",
        "finished_at": submission.finished_at.isoformat() + "Z" if submission.finished_at else None,
        "run_time_s": seen.get("run_time_s"),
        "filename": submission.filename,
        "version": submission.version.number,
        **progress(submission),
    }


def progress(submission: Submission) -> dict[str, Any]:
    """While it runs: the phase and the seconds since its run started (host-side clocks only;
    nothing of the notebook's output, which may hold private rows, until the worker's view)."""
    active = submission.status in ACTIVE
    started = submission.started_at if submission.status == "running" else None
    return {
        "phase": submission.status if active else None,
        "running_for_s": round(max((utcnow() - started).total_seconds(), 0.0), 1)
        if started
        else None,
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
