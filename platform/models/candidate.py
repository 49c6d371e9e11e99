"""Candidates and the invitations that are their keys to one challenge."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from heldout.platform.models.base import Base, Timestamped
from heldout.platform.models.challenge import Challenge


class Candidate(Timestamped, Base):
    __tablename__ = "candidates"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # Shown to reviewers while the review is blind.
    pseudonym: Mapped[str] = mapped_column(String(100), unique=True)


class Invitation(Timestamped, Base):
    """The token is random and only its SHA-256 is stored."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    # The submission the candidate chose as final (plain id: submissions point back here).
    final_submission_id: Mapped[int | None]
    # Extra tries an admin granted (`heldout invite grant`): added to both caps.
    extra_tries: Mapped[int] = mapped_column(default=0, server_default="0")

    challenge: Mapped[Challenge] = relationship()
    candidate: Mapped[Candidate] = relationship()
