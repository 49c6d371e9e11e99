"""Invitations: random tokens (stored hashed) that are a candidate's key to one challenge."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.errors import InvalidInput, NotFound, PermissionDenied
from heldout.platform.models import Candidate, Challenge, Invitation, utcnow
from heldout.platform.services import audit

TOKEN_BYTES = 32


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Issued:
    """A new invitation: the token is shown once and never stored."""

    id: int
    email: str
    token: str
    url: str
    expires_at: datetime | None
    challenge_state: str


@dataclass(frozen=True)
class Access:
    """What a valid token grants: one candidate, one challenge."""

    invitation_id: int
    candidate_id: int
    challenge_id: int
    slug: str
    expires_at: datetime | None = None
    email: str = ""  # whose invitation it is, shown in the portal's header
    title: str = ""


def invitation_url(config: Config, token: str) -> str:
    return f"{str(config['HELDOUT_BASE_URL']).rstrip('/')}/i/{token}"


def _candidate(session: Session, email: str, name: str) -> Candidate:
    found = session.scalars(select(Candidate).where(Candidate.email == email)).first()
    if found:
        return found
    candidate = Candidate(email=email, name=name, pseudonym=f"Candidate {secrets.token_hex(3)}")
    session.add(candidate)
    session.flush()
    return candidate


def invite(
    db: Database, config: Config, slug: str, email: str, name: str = "", days: int | None = None
) -> Issued:
    """Invite `email` to challenge `slug`: a new invitation, or a new link to their existing one."""
    email = email.strip().lower()
    if "@" not in email or len(email) > 320 or any(c.isspace() for c in email):
        raise InvalidInput(f"{email!r} is not an e-mail address")
    if days is not None and days <= 0:  # -1 once made a link that never expired
        raise InvalidInput(f"--days must be a positive number of days, not {days}")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    lifetime = days if days is not None else int(config["HELDOUT_INVITE_DAYS"])
    expires = utcnow() + timedelta(days=lifetime)
    with db.session() as session:
        challenge = session.scalars(select(Challenge).where(Challenge.slug == slug)).first()
        if challenge is None:
            raise NotFound(f"no challenge {slug!r}; `heldout challenge list` shows them")
        if challenge.state == "closed":
            raise InvalidInput(f"challenge {slug!r} is closed to new candidates")
        if challenge.latest is None:
            raise InvalidInput(
                f"challenge {slug!r} has no build yet; run `heldout challenge build`"
            )
        candidate = _candidate(session, email, name)
        # One candidate per e-mail and challenge: a second invitation continues the first
        # (history, tries, explanation, pseudonym) under a new link; the old link stops working.
        invitation = session.scalars(
            select(Invitation)
            .where(Invitation.candidate_id == candidate.id, Invitation.challenge_id == challenge.id)
            .order_by(Invitation.id.desc())
        ).first()
        if invitation is None:
            invitation = Invitation(challenge=challenge, candidate=candidate)
            session.add(invitation)
        elif name and not candidate.name:
            candidate.name = name
        invitation.token_hash = hash_token(token)
        invitation.expires_at = expires
        invitation.revoked_at = None
        session.flush()
        return Issued(
            invitation.id, email, token, invitation_url(config, token), expires, challenge.state
        )


def grant(db: Database, email: str, slug: str, extra: int, by: int | None = None) -> int:
    """Give `email` `extra` more tries at `slug` (both caps), logged; returns the invitation id."""
    if extra <= 0:
        raise InvalidInput(f"grant a positive number of tries, not {extra}")
    email = email.strip().lower()
    with db.session() as session:
        invitation = session.scalars(
            select(Invitation)
            .join(Candidate)
            .join(Challenge)
            .where(Candidate.email == email, Challenge.slug == slug)
            .order_by(Invitation.id.desc())
        ).first()
        if invitation is None:
            raise NotFound(
                f"{email} has no invitation to {slug!r}; `heldout invite list {slug}` shows them"
            )
        invitation.extra_tries += extra
        audit.record(
            session,
            by,
            "granted",
            f"invitation:{invitation.id}",
            {"email": email, "challenge": slug, "extra": extra, "total": invitation.extra_tries},
        )
        return invitation.id


def authenticate(db: Database, token: str) -> Access:
    """The access a token grants; PermissionDenied says why not, in words a candidate follows."""
    if not token or len(token) > 200:
        raise PermissionDenied(
            "This invitation link is not valid. Check that you copied all of it."
        )
    with db.session() as session:
        invitation = session.scalars(
            select(Invitation).where(Invitation.token_hash == hash_token(token))
        ).first()
        if invitation is None:
            raise PermissionDenied(
                "This invitation link is not valid. Check that you copied all of it, "
                "or ask the company for a new one."
            )
        if invitation.revoked_at is not None:
            raise PermissionDenied(
                "This invitation has been withdrawn. Contact the company if you think this "
                "is a mistake."
            )
        now = utcnow()
        if invitation.expires_at is not None and invitation.expires_at < now:
            raise PermissionDenied(
                f"This invitation expired on {invitation.expires_at:%Y-%m-%d}. "
                "Ask the company for a new link; your earlier submissions are kept."
            )
        invitation.last_used_at = now
        return Access(
            invitation.id,
            invitation.candidate_id,
            invitation.challenge_id,
            invitation.challenge.slug,
            invitation.expires_at,
            invitation.candidate.email,
            invitation.challenge.title,
        )


def access_by_id(db: Database, invitation_id: int) -> Access:
    """Re-check a session's invitation on every request: revocation and expiry end access."""
    with db.session() as session:
        invitation = session.get(Invitation, invitation_id)
        if invitation is None:
            raise PermissionDenied(
                "This invitation no longer exists. Ask the company for a new link."
            )
        if invitation.revoked_at is not None:
            raise PermissionDenied(
                "This invitation has been withdrawn. Contact the company if you think this "
                "is a mistake."
            )
        if invitation.expires_at is not None and invitation.expires_at < utcnow():
            raise PermissionDenied(
                f"This invitation expired on {invitation.expires_at:%Y-%m-%d}. "
                "Ask the company for a new link; your earlier submissions are kept."
            )
        return Access(
            invitation.id,
            invitation.candidate_id,
            invitation.challenge_id,
            invitation.challenge.slug,
            invitation.expires_at,
            invitation.candidate.email,
            invitation.challenge.title,
        )


def revoke(db: Database, ident: str) -> int:
    """Revoke by invitation id, token, or every invitation of an e-mail; returns how many."""
    with db.session() as session:
        query = select(Invitation).where(Invitation.revoked_at.is_(None))
        if ident.isdigit():
            query = query.where(Invitation.id == int(ident))
        elif "@" in ident:
            query = query.join(Candidate).where(Candidate.email == ident.strip().lower())
        else:
            query = query.where(Invitation.token_hash == hash_token(ident))
        found = session.scalars(query).all()
        if not found:
            raise NotFound(f"no active invitation matches {ident!r}")
        for invitation in found:
            invitation.revoked_at = utcnow()
        return len(found)


def list_invitations(db: Database, slug: str | None = None) -> list[dict[str, object]]:
    with db.session() as session:
        query = select(Invitation).join(Challenge).order_by(Invitation.id)
        if slug:
            query = query.where(Challenge.slug == slug)
        return [
            {
                "id": inv.id,
                "challenge": inv.challenge.slug,
                "email": inv.candidate.email,
                "expires_at": inv.expires_at,
                "revoked": inv.revoked_at is not None,
                "last_used_at": inv.last_used_at,
            }
            for inv in session.scalars(query)
        ]
