"""Rate-limit counters kept in the database, so every web process sees the same counts."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from heldout.platform.models.base import Base


class RateCounter(Base):
    """Events for one key (scope, who and window) until `expires_at` (epoch seconds)."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[float] = mapped_column(index=True)
