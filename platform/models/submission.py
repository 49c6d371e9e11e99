"""Submissions: the queue itself (status, lease, attempts) and their scores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from heldout.platform.failures import COUNTED
from heldout.platform.models.base import Base, Timestamped
from heldout.platform.models.candidate import Candidate, Invitation
from heldout.platform.models.challenge import ChallengeVersion

STATUSES = ("queued", "running", "scored", "failed")


class Submission(Timestamped, Base):
    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_queue", "status", "not_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"))
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("candidates.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[int] = mapped_column(
        ForeignKey("challenge_versions.id", ondelete="CASCADE"), index=True
    )
    notebook_key: Mapped[str] = mapped_column(String(500))
    notebook_sha256: Mapped[str] = mapped_column(String(64))
    notebook_size: Mapped[int]
    filename: Mapped[str] = mapped_column(String(300), default="solution.ipynb")

    status: Mapped[str] = mapped_column(String(20), default="queued")
    failure: Mapped[str | None] = mapped_column(String(40))
    # For reviewers and admins: may quote the private test rows (the scored run saw them).
    failure_message: Mapped[str | None] = mapped_column(Text)
    failure_detail: Mapped[dict[str, Any] | None]
    # What the candidate may see, decided and written by the worker (worker/disclosure.py):
    # {"failure": {...} | None, "executed_key": ... | None, "run_time_s": ...}.
    candidate_view: Mapped[dict[str, Any] | None]
    attempts: Mapped[int] = mapped_column(default=0)
    not_before: Mapped[datetime | None]  # retry backoff

    lease_owner: Mapped[str | None] = mapped_column(String(200))
    lease_expires_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # When the result e-mail was claimed (services/notifications.py): set once, never reset.
    notified_at: Mapped[datetime | None]

    public_score: Mapped[float | None]
    private_score: Mapped[float | None]
    # Everything the grader returned: metric, CIs, baselines, plots' storage keys.
    grading: Mapped[dict[str, Any] | None]

    invitation: Mapped[Invitation] = relationship(foreign_keys=[invitation_id])
    candidate: Mapped[Candidate] = relationship()
    version: Mapped[ChallengeVersion] = relationship()
    runs: Mapped[list[Run]] = relationship(back_populates="submission", order_by="Run.attempt")

    @property
    def counts_toward_limit(self) -> bool:
        return self.failure is None or self.failure in COUNTED


class Run(Timestamped, Base):
    """One run of a submission's notebook in the sandbox (an attempt has one scored run and
    at most one candidate run)."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int]
    # "scored": on all test rows, for reviewers and timings; "candidate": on the bundle's rows.
    purpose: Mapped[str] = mapped_column(String(20), default="scored", server_default="scored")
    worker: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="running")
    reason: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    duration_s: Mapped[float | None]
    image_digest: Mapped[str | None] = mapped_column(String(200))
    notebook_sha256: Mapped[str | None] = mapped_column(String(64))
    data_sha256: Mapped[str | None] = mapped_column(String(64))
    cell_timings: Mapped[list[Any] | None]
    logs: Mapped[str | None] = mapped_column(Text)
    executed_key: Mapped[str | None] = mapped_column(String(500))
    predictions_key: Mapped[str | None] = mapped_column(String(500))
    result: Mapped[dict[str, Any] | None]

    submission: Mapped[Submission] = relationship(back_populates="runs")
