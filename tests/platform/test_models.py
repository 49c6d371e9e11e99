"""The schema migrates and round-trips on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from heldout.platform.db import Database
from heldout.platform.models import (
    Challenge,
    ChallengeVersion,
    Invitation,
    Run,
    Submission,
)
from tests.factories import make_challenge, make_invitation, make_submission


def test_upgrade_is_idempotent(db: Database) -> None:
    db.upgrade()
    db.upgrade()


def test_submission_round_trip_with_runs(db: Database) -> None:
    with db.session() as session:
        sub = make_submission(session)
        session.add(
            Run(
                submission=sub,
                attempt=1,
                worker="w1",
                cell_timings=[0.1, 0.2],
                result={"status": "succeeded"},
            )
        )
    with db.session() as session:
        loaded = session.scalars(select(Submission)).one()
        assert loaded.status == "queued"
        assert loaded.runs[0].cell_timings == [0.1, 0.2]
        assert loaded.version.challenge.slug.startswith("challenge-")
        assert loaded.counts_toward_limit


def test_platform_error_does_not_count_toward_limit(db: Database) -> None:
    with db.session() as session:
        sub = make_submission(session)
        sub.status, sub.failure = "failed", "platform_error"
        assert not sub.counts_toward_limit
        sub.failure = "timeout"
        assert sub.counts_toward_limit


def test_latest_version_is_newest_build(db: Database) -> None:
    with db.session() as session:
        challenge = make_challenge(session, versions=3)
        assert challenge.latest is not None
        assert challenge.latest.number == 3


def test_invitation_token_hash_is_unique(db: Database) -> None:
    with pytest.raises(IntegrityError), db.session() as session:
        first = make_invitation(session)
        session.add(
            Invitation(
                challenge=first.challenge, candidate=first.candidate, token_hash=first.token_hash
            )
        )
        session.flush()


def test_deleting_challenge_cascades_to_versions(db: Database) -> None:
    with db.session() as session:
        challenge = make_challenge(session)
        challenge_id = challenge.id
    with db.session() as session:
        session.delete(session.get(Challenge, challenge_id))
    with db.session() as session:
        assert session.scalars(select(ChallengeVersion)).all() == []


def test_concurrent_upgrades_of_a_fresh_database_all_succeed(database_url: str) -> None:
    """Web, worker and CLI processes may start together on an empty database: none fails."""
    import subprocess
    import sys

    code = "import sys; from heldout.platform.db import Database; Database(sys.argv[1]).upgrade()"
    processes = [
        subprocess.Popen([sys.executable, "-c", code, database_url], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    failures = [p.stderr.read().decode()[-600:] for p in processes if p.wait(timeout=120) != 0]  # type: ignore[union-attr]
    assert not failures, failures
