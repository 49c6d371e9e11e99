"""The audit log of reviewer and admin actions: viewed, scored, unblinded, exported, signed in,
granted extra tries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from heldout.platform.db import Database
from heldout.platform.models import AuditEvent, User

ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "viewed",
    "saved_draft",
    "scored",
    "unblinded",
    "exported",
    "granted",
)


def record(
    session: Session,
    user_id: int | None,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add one event inside the caller's transaction, so the action and its log commit together."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; valid: {', '.join(ACTIONS)}")
    session.add(AuditEvent(user_id=user_id, action=action, target=target, detail=detail or {}))


def log(
    db: Database,
    user_id: int | None,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Record one event in its own transaction."""
    with db.session() as session:
        record(session, user_id, action, target, detail)


def events(
    db: Database, page: int = 1, per_page: int = 100, action: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """A page of events, newest first, with who did them; and the total count."""
    with db.session() as session:
        query = select(AuditEvent, User.email).outerjoin(User, User.id == AuditEvent.user_id)
        counter = select(func.count(AuditEvent.id))
        if action:
            query = query.where(AuditEvent.action == action)
            counter = counter.where(AuditEvent.action == action)
        rows = session.execute(
            query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
            .limit(per_page)
            .offset((max(page, 1) - 1) * per_page)
        ).all()
        total = session.scalar(counter) or 0
        return [
            {
                "at": event.at,
                "user": email or "-",
                "action": event.action,
                "target": event.target,
                "detail": event.detail,
            }
            for event, email in rows
        ], total
