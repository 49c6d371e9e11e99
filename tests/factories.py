"""`make_*` factories for models: the least a valid row needs, overridable by keyword."""

from __future__ import annotations

import hashlib
import itertools
import secrets
from typing import Any

from sqlalchemy.orm import Session

from heldout.platform.models import (
    Candidate,
    Challenge,
    ChallengeVersion,
    Invitation,
    Submission,
    User,
)

_seq = itertools.count(1)


def make_challenge(session: Session, versions: int = 1, **fields: Any) -> Challenge:
    n = next(_seq)
    challenge = Challenge(
        slug=f"challenge-{n}", title=f"Challenge {n}", secret=secrets.token_hex(32), **fields
    )
    session.add(challenge)
    for number in range(1, versions + 1):
        session.add(
            ChallengeVersion(
                challenge=challenge,
                number=number,
                spec={"slug": challenge.slug},
                metric="f1",
                bundle_key=f"c/{n}/{number}/bundle.zip",
                sandbox_key=f"c/{n}/{number}/sandbox.zip",
                answer_key=f"c/{n}/{number}/answers.csv",
                starter_key=None,
                data_sha256="0" * 64,
                report={},
            )
        )
    session.flush()
    session.refresh(challenge)
    return challenge


def latest_version(challenge: Challenge) -> ChallengeVersion:
    """The challenge's newest version; it must have one (`make_challenge` makes one)."""
    version = challenge.latest
    assert version is not None, f"challenge {challenge.slug!r} has no version"
    return version


def make_candidate(session: Session, **fields: Any) -> Candidate:
    n = next(_seq)
    candidate = Candidate(
        email=f"candidate{n}@example.com", pseudonym=f"Candidate {n:04d}", **fields
    )
    session.add(candidate)
    session.flush()
    return candidate


def make_invitation(
    session: Session,
    challenge: Challenge | None = None,
    candidate: Candidate | None = None,
    **fields: Any,
) -> Invitation:
    invitation = Invitation(
        challenge=challenge or make_challenge(session),
        candidate=candidate or make_candidate(session),
        token_hash=hashlib.sha256(secrets.token_bytes(16)).hexdigest(),
        **fields,
    )
    session.add(invitation)
    session.flush()
    return invitation


def make_submission(
    session: Session, invitation: Invitation | None = None, **fields: Any
) -> Submission:
    invitation = invitation or make_invitation(session)
    version = invitation.challenge.versions[-1]
    sha = hashlib.sha256(secrets.token_bytes(8)).hexdigest()
    values: dict[str, Any] = {
        "notebook_key": f"submissions/{sha[:2]}/{sha}.ipynb",
        "notebook_sha256": sha,
        "notebook_size": 100,
        **fields,
    }
    submission = Submission(
        invitation=invitation, candidate=invitation.candidate, version=version, **values
    )
    session.add(submission)
    session.flush()
    return submission


def make_user(session: Session, role: str = "reviewer", **fields: Any) -> User:
    n = next(_seq)
    user = User(email=f"{role}{n}@example.com", role=role, password_hash="!", **fields)
    session.add(user)
    session.flush()
    return user
