"""Challenges and their immutable versions: each build makes a new version."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from heldout.platform.models.base import Base, Timestamped

STATES = ("draft", "published", "closed")


class Challenge(Timestamped, Base):
    __tablename__ = "challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(20), default="draft")
    # Keyed-HMAC secret for pseudonymization; stays in the platform, never in a bundle.
    secret: Mapped[str] = mapped_column(String(128))

    versions: Mapped[list[ChallengeVersion]] = relationship(
        back_populates="challenge",
        order_by="ChallengeVersion.number",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @property
    def latest(self) -> ChallengeVersion | None:
        """The newest build; new submissions are made against it."""
        return self.versions[-1] if self.versions else None


class ChallengeVersion(Timestamped, Base):
    """One build of a challenge; submissions point at the version they were made for."""

    __tablename__ = "challenge_versions"
    __table_args__ = (UniqueConstraint("challenge_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    number: Mapped[int]
    spec: Mapped[dict[str, Any]]  # the parsed challenge.toml
    brief: Mapped[str] = mapped_column(Text, default="")
    metric: Mapped[str] = mapped_column(String(100))
    # Storage keys of the three artifacts and the data hash recorded with every run.
    bundle_key: Mapped[str] = mapped_column(String(500))
    sandbox_key: Mapped[str] = mapped_column(String(500))
    answer_key: Mapped[str] = mapped_column(String(500))
    starter_key: Mapped[str | None] = mapped_column(String(500))
    data_sha256: Mapped[str] = mapped_column(String(64))
    report: Mapped[dict[str, Any]]  # anonymization report

    challenge: Mapped[Challenge] = relationship(back_populates="versions")
