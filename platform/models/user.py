"""Staff accounts (reviewers and admins) and which challenges a reviewer may see."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from heldout.platform.models.base import Base, Timestamped

ROLES = ("reviewer", "admin")


class User(Timestamped, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(300))
    disabled: Mapped[bool] = mapped_column(default=False)
    last_login_at: Mapped[datetime | None]
    # Every session carries the version it signed in under; bumping it (logout, password or
    # role change, disable) ends every session of this user at its next request.
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")


class Assignment(Timestamped, Base):
    """A reviewer may see and review one challenge."""

    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("user_id", "challenge_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
