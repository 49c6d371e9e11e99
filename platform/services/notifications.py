"""One e-mail to the candidate when a submission ends (scored or failed), at most once.

The worker calls `submission_finished` after the transaction that finished the submission.
Sending is claimed first with a compare-and-set on `Submission.notified_at` (set only where it
is still empty and the status is final), so a retried attempt, two workers racing for one
submission, or a regrade never send a second message. At most once, not at least once: a
worker that dies between the claim and the send, or an SMTP server that refuses, leaves the
candidate to see the result in the portal (logged).
"""

from __future__ import annotations

import logging

from sqlalchemy import update

from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.failures import FAILURES
from heldout.platform.models import Submission, utcnow
from heldout.platform.services import mail

log = logging.getLogger("heldout.notifications")

FINAL = ("scored", "failed")


def claim(db: Database, submission_id: int) -> bool:
    """Mark the submission's result e-mail as sent; False if it was already, or not final."""
    with db.session() as session:
        result = session.execute(
            update(Submission)
            .where(
                Submission.id == submission_id,
                Submission.status.in_(FINAL),
                Submission.notified_at.is_(None),
            )
            .values(notified_at=utcnow())
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


def _message(submission: Submission, base_url: str) -> tuple[str, str, str]:
    """To, subject and body: only what the portal shows (status, public score, the category's
    words), never anything of the scored run's output."""
    title = submission.version.challenge.title
    link = f"{base_url.rstrip('/')}/submissions/{submission.id}"
    if submission.status == "scored":
        score = (
            f"Its public score is {submission.public_score:.4f} ({submission.version.metric})."
            if submission.public_score is not None
            else "It is scored."
        )
        subject = f"Submission {submission.id} is scored: {title}"
        what = f"Your submission {submission.id} to “{title}” ran and was scored. {score}"
    else:
        kind = FAILURES.get(submission.failure or "")
        subject = f"Submission {submission.id} did not run through: {title}"
        what = (
            f"Your submission {submission.id} to “{title}” failed: "
            f"{kind.title if kind else 'it could not be scored'}."
        )
        if kind and not kind.counted:
            what += " This does not count against your submissions."
    body = (
        f"Hello,\n\n{what}\n\nSee the details in the portal:\n{link}\n\n"
        "If the page asks you to, open your personal invitation link first.\n"
    )
    return submission.candidate.email, subject, body


def submission_finished(db: Database, config: Config, submission_id: int) -> bool:
    """Send the result e-mail once; True if this call sent it. Never raises: a mail problem
    must not turn into a retry of the run."""
    if not mail.enabled(config):
        return False
    try:
        if not claim(db, submission_id):
            return False
        with db.session() as session:
            submission = session.get(Submission, submission_id)
            if submission is None:
                return False
            to, subject, body = _message(submission, str(config["HELDOUT_BASE_URL"]))
        mail.send(config, to, subject, body)
    except Exception as exc:  # noqa: BLE001  (the result is recorded; the e-mail is a courtesy)
        log.warning("result e-mail not sent: %s", exc, extra={"submission_id": submission_id})
        return False
    log.info("result e-mail sent", extra={"submission_id": submission_id})
    return True
