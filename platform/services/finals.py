"""The candidate's final submission: the one reviewers look at and the explanation goes with.

The one owner of the rule, read by the portal, the API and the reviewer's pages alike: the
scored submission the candidate chose, or else their latest scored one.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from heldout.platform.errors import NotFound
from heldout.platform.models import Invitation, Submission


def final_submission_id(session: Session, invitation_id: int) -> int | None:
    """The candidate's chosen final submission if it is scored, or else their latest scored."""
    invitation = session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound("no such invitation")
    chosen = invitation.final_submission_id
    if chosen is not None:
        found = session.get(Submission, chosen)
        if found is not None and found.invitation_id == invitation_id and found.status == "scored":
            return chosen
    latest: int | None = session.scalar(
        select(Submission.id)
        .where(Submission.invitation_id == invitation_id, Submission.status == "scored")
        .order_by(Submission.id.desc())
        .limit(1)
    )
    return latest
