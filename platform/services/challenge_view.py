"""What a candidate sees of their challenge: brief, rules, limits, downloads, quota."""

from __future__ import annotations

from typing import Any

from heldout.challenges.limits import LimitsSpec
from heldout.platform.db import Database
from heldout.platform.errors import NotFound
from heldout.platform.models import Invitation
from heldout.platform.runtime import runtime
from heldout.platform.services.submissions import quota


def for_candidate(db: Database, invitation_id: int) -> dict[str, Any]:
    used = quota(db, invitation_id)
    with db.session() as session:
        invitation = session.get(Invitation, invitation_id)
        version = invitation.challenge.latest if invitation else None
        if invitation is None or version is None:
            raise NotFound("this challenge is not available")
        challenge = invitation.challenge
        spec = version.spec
        limits = LimitsSpec.from_stored(spec.get("limits"))
        split = spec.get("split") or {}
        data = spec.get("data") or {}
        return {
            "slug": challenge.slug,
            "title": challenge.title,
            "state": challenge.state,
            "version": version.number,
            "brief": version.brief,
            "metric": {"name": version.metric, **(spec.get("metric") or {})},
            "id_column": data.get("id"),
            "target_column": data.get("target"),
            "limits": {
                "timeout_s": limits.timeout_s,
                "memory_mb": limits.memory_mb,
                "cpus": limits.cpus,
            },
            # What the notebook runs with: the image's Python and packages, and the limits.
            "runtime": {
                **runtime().as_json(),
                "memory_mb": limits.memory_mb,
                "cpus": limits.cpus,
                "timeout_s": limits.timeout_s,
                "network": False,
                "installs": False,
            },
            "submissions": used.submissions.as_json(),
            "attempts": used.attempts.as_json(),
            "granted": used.granted,
            "refusal": used.refusal(),
            "private_scoring": float(split.get("private_fraction", 0)) > 0,
            "has_starter": bool(version.starter_key),
            "final_submission_id": invitation.final_submission_id,
            "candidate": {"pseudonym": invitation.candidate.pseudonym},
        }


def bundle_key(db: Database, invitation_id: int) -> tuple[str, str]:
    """Storage key and download name of the candidate bundle."""
    with db.session() as session:
        invitation = session.get(Invitation, invitation_id)
        version = invitation.challenge.latest if invitation else None
        if invitation is None or version is None:
            raise NotFound("this challenge is not available")
        return version.bundle_key, f"{invitation.challenge.slug}.zip"


def starter_key(db: Database, invitation_id: int) -> tuple[str, str]:
    with db.session() as session:
        invitation = session.get(Invitation, invitation_id)
        version = invitation.challenge.latest if invitation else None
        if version is None or not version.starter_key:
            raise NotFound("this challenge has no starter notebook")
        return version.starter_key, "starter.ipynb"
