"""Staff accounts: users, password hashing, challenge assignments, and
the session version that lets any change to an account end its sessions."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from heldout.platform.db import Database
from heldout.platform.errors import InvalidInput, NotFound, PermissionDenied
from heldout.platform.models import Assignment, Challenge, User, utcnow
from heldout.platform.models.user import ROLES

MIN_PASSWORD = 12
HASH_METHOD = "scrypt"
# Checked when the e-mail is unknown, so a miss costs as much time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method=HASH_METHOD)


@dataclass(frozen=True)
class Account:
    """A signed-in staff member as views see it (no password hash)."""

    id: int
    email: str
    name: str
    role: str
    session_version: int = 1

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _account(user: User) -> Account:
    return Account(user.id, user.email, user.name, user.role, user.session_version)


def _normal_email(email: str) -> str:
    cleaned = email.strip().lower()
    if "@" not in cleaned or len(cleaned) > 320 or any(c.isspace() for c in cleaned):
        raise InvalidInput(f"{email!r} is not an e-mail address")
    return cleaned


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"The password must be at least {MIN_PASSWORD} characters long.")
    return generate_password_hash(password, method=HASH_METHOD)


def add_user(db: Database, email: str, role: str, password: str, name: str = "") -> Account:
    """Create a reviewer or admin, or reset the role and password of an existing one."""
    if role not in ROLES:
        raise InvalidInput(f"unknown role {role!r}; valid roles: {', '.join(ROLES)}")
    address = _normal_email(email)
    hashed = hash_password(password)
    with db.session() as session:
        user = session.scalars(select(User).where(User.email == address)).first()
        if user is None:
            user = User(email=address, role=role, password_hash=hashed, name=name)
            session.add(user)
        else:
            user.role, user.password_hash, user.disabled = role, hashed, False
            user.name = name or user.name
            user.session_version += 1  # a reset password or role signs every session out
        session.flush()
        return _account(user)


def get_account(db: Database, user_id: int, session_version: object = None) -> Account | None:
    """The enabled account with this id whose sessions are at `session_version`, or None
    (deleted, disabled and signed-out users, and old sessions, sign in again)."""
    with db.session() as session:
        user = session.get(User, user_id)
        if user is None or user.disabled or session_version != user.session_version:
            return None
        return _account(user)


def end_sessions(db: Database, user_id: int) -> None:
    """Sign this user out everywhere: every cookie issued so far stops working."""
    with db.session() as session:
        user = session.get(User, user_id)
        if user is not None:
            user.session_version += 1


def _user_by_email(session: Session, email: str) -> User:
    user = session.scalars(select(User).where(User.email == _normal_email(email))).first()
    if user is None:
        raise NotFound(f"no user {email!r}; add one with `heldout user add`")
    return user


def disable(db: Database, email: str) -> bool:
    """Disable an account and end its sessions; False when it was already disabled.
    `heldout user add` with a new password enables it again."""
    with db.session() as session:
        user = _user_by_email(session, email)
        was = user.disabled
        user.disabled = True
        user.session_version += 1
        return not was


def unassign(db: Database, email: str, slug: str) -> bool:
    """Take one challenge away from a reviewer; False when it was not assigned."""
    with db.session() as session:
        user = _user_by_email(session, email)
        challenge = _challenge_by_slug(session, slug)
        found = session.scalars(
            select(Assignment).where(
                Assignment.user_id == user.id, Assignment.challenge_id == challenge.id
            )
        ).first()
        if found is None:
            return False
        session.delete(found)
        return True


def authenticate(db: Database, email: str, password: str) -> Account | None:
    """The account when the password matches, else None; the cost is the same either way."""
    address = email.strip().lower()
    with db.session() as session:
        user = session.scalars(select(User).where(User.email == address)).first()
        if user is None or user.disabled:
            check_password_hash(_DUMMY_HASH, password)
            return None
        if not check_password_hash(user.password_hash, password):
            return None
        user.last_login_at = utcnow()
        return _account(user)


def list_users(db: Database) -> list[dict[str, object]]:
    """Every staff account with the challenge slugs it is assigned to."""
    with db.session() as session:
        users = session.scalars(select(User).order_by(User.email)).all()
        rows = session.execute(
            select(Assignment.user_id, Challenge.slug)
            .join(Challenge, Challenge.id == Assignment.challenge_id)
            .order_by(Challenge.slug)
        ).all()
        slugs: dict[int, list[str]] = {}
        for user_id, slug in rows:
            slugs.setdefault(user_id, []).append(slug)
        return [
            {
                "id": u.id,
                "email": u.email,
                "role": u.role,
                "disabled": u.disabled,
                "challenges": slugs.get(u.id, []),
                "last_login_at": u.last_login_at,
            }
            for u in users
        ]


def _challenge_by_slug(session: Session, slug: str) -> Challenge:
    challenge = session.scalars(select(Challenge).where(Challenge.slug == slug)).first()
    if challenge is None:
        raise NotFound(f"no challenge {slug!r}")
    return challenge


def assign(db: Database, email: str, slug: str) -> bool:
    """Let a reviewer see one challenge; False when the assignment already existed."""
    with db.session() as session:
        user = _user_by_email(session, email)
        challenge = _challenge_by_slug(session, slug)
        exists = session.scalars(
            select(Assignment).where(
                Assignment.user_id == user.id, Assignment.challenge_id == challenge.id
            )
        ).first()
        if exists:
            return False
        session.add(Assignment(user_id=user.id, challenge_id=challenge.id))
        return True


def visible_challenges(db: Database, account: Account) -> list[dict[str, object]]:
    """Admins see every challenge; reviewers the ones they are assigned to."""
    with db.session() as session:
        query = select(Challenge).order_by(Challenge.created_at.desc(), Challenge.id.desc())
        if not account.is_admin:
            query = query.join(Assignment, Assignment.challenge_id == Challenge.id).where(
                Assignment.user_id == account.id
            )
        return [
            {"id": c.id, "slug": c.slug, "title": c.title, "state": c.state}
            for c in session.scalars(query).all()
        ]


def challenge_for(session: Session, account: Account, slug: str) -> Challenge:
    """The challenge when this account may see it; NotFound otherwise (no existence leak)."""
    challenge = session.scalars(select(Challenge).where(Challenge.slug == slug)).first()
    if challenge is None or not may_see(session, account, challenge.id):
        raise NotFound(f"no challenge {slug!r} for you")
    return challenge


def may_see(session: Session, account: Account, challenge_id: int) -> bool:
    if account.is_admin:
        return True
    found = session.scalars(
        select(Assignment.id).where(
            Assignment.user_id == account.id, Assignment.challenge_id == challenge_id
        )
    ).first()
    return found is not None


def require_admin(account: Account) -> None:
    if not account.is_admin:
        raise PermissionDenied("Only admins may do this.")
