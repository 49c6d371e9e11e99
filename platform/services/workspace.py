"""Everything a reviewer sees about one submission, gathered under the blind rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from heldout.platform.db import Database
from heldout.platform.errors import NotFound
from heldout.platform.models import Explanation, Run, Submission
from heldout.platform.services import audit
from heldout.platform.services.accounts import Account
from heldout.platform.services.dashboard import summary
from heldout.platform.services.finals import final_submission_id
from heldout.platform.services.reviews import (
    names_visible,
    reviews_of,
    rubric_for,
    submission_for,
)


def _run_facts(run: Run | None) -> dict[str, Any] | None:
    if run is None:
        return None
    timings = []
    for i, entry in enumerate(run.cell_timings or []):
        if isinstance(entry, dict):
            seconds = entry.get("duration_s", entry.get("seconds"))
            cell = entry.get("cell", i + 1)
        else:
            seconds, cell = entry, i + 1
        if isinstance(seconds, int | float):
            timings.append({"cell": cell, "seconds": float(seconds)})
    return {
        "attempt": run.attempt,
        "status": run.status,
        "reason": run.reason,
        "worker": run.worker,
        "duration_s": run.duration_s,
        "image_digest": run.image_digest,
        "notebook_sha256": run.notebook_sha256,
        "data_sha256": run.data_sha256,
        "cell_timings": timings,
        "logs": run.logs or "",
        "has_notebook": bool(run.executed_key),
        "finished_at": run.finished_at,
    }


def view(db: Database, account: Account, submission_id: int) -> dict[str, Any]:
    """The one-screen view of a submission; records that the reviewer viewed it."""
    with db.session() as session:
        sub = submission_for(session, account, submission_id)
        challenge = sub.version.challenge
        rubric = rubric_for(sub.version.spec)
        reveal = names_visible(session, account, sub.id)
        mine, others = reviews_of(session, account, sub, rubric)
        runs = sorted((r for r in sub.runs if r.purpose == "scored"), key=lambda r: r.attempt)
        explanation = session.scalars(
            select(Explanation).where(Explanation.invitation_id == sub.invitation_id)
        ).first()
        siblings = session.scalars(
            select(Submission)
            .where(Submission.invitation_id == sub.invitation_id, Submission.id != sub.id)
            .order_by(Submission.id.desc())
        ).all()
        final = final_submission_id(session, sub.invitation_id)
        result = {
            "id": sub.id,
            "challenge": {"id": challenge.id, "slug": challenge.slug, "title": challenge.title},
            "version": sub.version.number,
            "status": sub.status,
            "failure": sub.failure,
            "failure_message": sub.failure_message,
            "submitted_at": sub.created_at,
            "filename": sub.filename,
            "notebook_sha256": sub.notebook_sha256,
            "is_final": final == sub.id,
            "candidate": {
                "pseudonym": sub.candidate.pseudonym,
                "name": sub.candidate.name if reveal else None,
                "email": sub.candidate.email if reveal else None,
            },
            "names_visible": reveal,
            "grading": summary(sub.grading or {}),
            "run": _run_facts(runs[-1] if runs else None),
            "explanation": {
                "text": explanation.text if explanation else "",
                "video": bool(explanation and explanation.video_key),
                "video_type": explanation.video_type if explanation else None,
                "for_submission": explanation.submission_id if explanation else None,
            },
            "others": [
                {
                    "id": s.id,
                    "status": s.status,
                    "public_score": s.public_score,
                    "private_score": s.private_score,
                    "submitted_at": s.created_at,
                    "is_final": final == s.id,
                }
                for s in siblings
            ],
            "rubric": rubric,
            "my_review": mine,
            "other_reviews": others,
            "others_hidden": not others and not (mine and mine["submitted_at"]),
        }
        audit.record(session, account.id, "viewed", f"submission:{sub.id}")
        return result


def executed_notebook_key(db: Database, account: Account, submission_id: int) -> str:
    """Storage key of the newest executed notebook of a submission this account may see."""
    with db.session() as session:
        sub = submission_for(session, account, submission_id)
        for run in sorted(sub.runs, key=lambda r: r.attempt, reverse=True):
            if run.purpose == "scored" and run.executed_key:
                return run.executed_key
    raise NotFound("this submission has no executed notebook")


def plot_key(db: Database, account: Account, submission_id: int, name: str) -> str:
    """Storage key of one of the grader's plots (names come from the grading, never a path)."""
    with db.session() as session:
        sub = submission_for(session, account, submission_id)
        plots = (sub.grading or {}).get("plots") or {}
        key = plots.get(name) if isinstance(plots, dict) else None
        if not isinstance(key, str):
            raise NotFound(f"no plot {name!r}")
        return key


def video(db: Database, account: Account, submission_id: int) -> tuple[str, str]:
    """Storage key and MIME type of the explanation video of this submission's candidate."""
    with db.session() as session:
        sub = submission_for(session, account, submission_id)
        explanation = session.scalars(
            select(Explanation).where(Explanation.invitation_id == sub.invitation_id)
        ).first()
        if explanation is None or not explanation.video_key:
            raise NotFound("this candidate sent no video")
        return explanation.video_key, explanation.video_type or "video/mp4"


def marked_score(
    db: Database, account: Account, submission_id: int, split: str
) -> tuple[int, float | None]:
    """The challenge id and one split's score of a submission, for the distribution marker."""
    with db.session() as session:
        sub = submission_for(session, account, submission_id)
        score = sub.private_score if split == "private" else sub.public_score
        return sub.version.challenge_id, score
