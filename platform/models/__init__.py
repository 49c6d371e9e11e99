"""The database model: one module per noun, all re-exported here for Alembic and callers."""

from heldout.platform.models.base import Base, utcnow
from heldout.platform.models.candidate import Candidate, Invitation
from heldout.platform.models.challenge import Challenge, ChallengeVersion
from heldout.platform.models.explanation import Explanation
from heldout.platform.models.ratelimit import RateCounter
from heldout.platform.models.review import AuditEvent, Review
from heldout.platform.models.submission import Run, Submission
from heldout.platform.models.user import Assignment, User

__all__ = [
    "Assignment",
    "AuditEvent",
    "Base",
    "Candidate",
    "Challenge",
    "ChallengeVersion",
    "Explanation",
    "Invitation",
    "RateCounter",
    "Review",
    "Run",
    "Submission",
    "User",
    "utcnow",
]
