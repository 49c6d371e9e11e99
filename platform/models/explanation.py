"""A candidate's explanation of their work: a video, written text, or both."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from heldout.platform.models.base import Base, Timestamped, utcnow


class Explanation(Timestamped, Base):
    """One per invitation; attached to the candidate's final submission."""

    __tablename__ = "explanations"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(
        ForeignKey("invitations.id", ondelete="CASCADE"), unique=True
    )
    submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("submissions.id", ondelete="SET NULL")
    )
    text: Mapped[str] = mapped_column(Text, default="")
    text_draft: Mapped[str] = mapped_column(Text, default="")
    video_key: Mapped[str | None] = mapped_column(String(500))
    video_type: Mapped[str | None] = mapped_column(String(100))
    video_size: Mapped[int | None]
    # A resumable upload in progress: where its chunks go and how much has arrived.
    upload_key: Mapped[str | None] = mapped_column(String(500))
    upload_size: Mapped[int | None]
    upload_received: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
