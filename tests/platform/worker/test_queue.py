"""The database queue on SQLite and PostgreSQL: leases, races, exactly-once completion."""

from __future__ import annotations

import threading
import time
from collections import Counter

from sqlalchemy import select, update

from heldout.platform.db import Database
from heldout.platform.models import Submission
from heldout.platform.worker import queue
from tests.factories import make_invitation, make_submission


def seed(db: Database, candidates: int, per_candidate: int) -> list[int]:
    ids = []
    with db.session() as session:
        first = make_invitation(session)
        for n in range(candidates):
            invitation = first if n == 0 else make_invitation(session, challenge=first.challenge)
            ids += [make_submission(session, invitation).id for _ in range(per_candidate)]
    return ids


def test_claim_takes_oldest_and_marks_running(db: Database) -> None:
    ids = seed(db, candidates=2, per_candidate=1)
    claim = queue.claim(db, "w1", lease_s=30)
    assert claim is not None and claim.submission_id == ids[0] and claim.attempt == 1
    with db.session() as session:
        sub = session.get(Submission, ids[0])
        assert sub is not None
        assert (sub.status, sub.lease_owner) == ("running", "w1")


def test_empty_queue_gives_none(db: Database) -> None:
    assert queue.claim(db, "w1", lease_s=30) is None


def test_one_running_submission_per_candidate(db: Database) -> None:
    ids = seed(db, candidates=1, per_candidate=2)
    first = queue.claim(db, "w1", lease_s=30)
    assert first is not None and first.submission_id == ids[0]
    assert queue.claim(db, "w2", lease_s=30) is None  # the second waits its turn
    with db.session() as session:
        assert queue.complete(session, first, status="scored")
    second = queue.claim(db, "w2", lease_s=30)
    assert second is not None and second.submission_id == ids[1]


def test_expired_lease_returns_to_queue_and_old_owner_cannot_finish(db: Database) -> None:
    ids = seed(db, candidates=1, per_candidate=1)
    stale = queue.claim(db, "dead-worker", lease_s=30)
    assert stale is not None
    with db.session() as session:  # the worker died: its lease runs out
        session.execute(
            update(Submission)
            .where(Submission.id == ids[0])
            .values(lease_expires_at=Submission.created_at)
        )
    fresh = queue.claim(db, "w2", lease_s=30)
    assert fresh is not None and fresh.submission_id == ids[0] and fresh.attempt == 2
    assert not queue.heartbeat(db, stale, 30)
    with db.session() as session:
        assert not queue.complete(session, stale, status="scored", public_score=1.0)
    with db.session() as session:
        assert queue.complete(session, fresh, status="scored", public_score=0.5)
    with db.session() as session:
        sub = session.get(Submission, ids[0])
        assert sub is not None and (sub.status, sub.public_score) == ("scored", 0.5)


def test_heartbeat_extends_lease_while_held(db: Database) -> None:
    seed(db, candidates=1, per_candidate=1)
    claim = queue.claim(db, "w1", lease_s=1)
    assert claim is not None
    with db.session() as session:
        before = session.scalars(select(Submission.lease_expires_at)).one()
    time.sleep(0.05)
    assert queue.heartbeat(db, claim, 60)
    with db.session() as session:
        after = session.scalars(select(Submission.lease_expires_at)).one()
    assert before is not None and after is not None and after > before


def test_release_gives_the_attempt_back(db: Database) -> None:
    seed(db, candidates=1, per_candidate=1)
    claim = queue.claim(db, "w1", lease_s=30)
    assert claim is not None
    assert queue.release(db, claim)
    again = queue.claim(db, "w2", lease_s=30)
    assert again is not None and again.attempt == 1


def test_retry_backoff_delays_the_next_claim(db: Database) -> None:
    seed(db, candidates=1, per_candidate=1)
    claim = queue.claim(db, "w1", lease_s=30)
    assert claim is not None
    assert queue.release(db, claim, delay_s=60, attempt_used=True)
    assert queue.claim(db, "w2", lease_s=30) is None
    assert queue.depth(db) == 1


def test_racing_workers_never_share_a_claim(db: Database) -> None:
    """Four workers with their own connections drain 40 submissions of 10 candidates."""
    ids = seed(db, candidates=10, per_candidate=4)
    claimed: Counter[int] = Counter()
    running_per_candidate: dict[int, int] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def work(name: str) -> None:
        mine = Database(db.url)
        try:
            idle = 0
            while idle < 20:
                claim = queue.claim(mine, name, lease_s=30)
                if claim is None:
                    idle += 1
                    time.sleep(0.02)
                    continue
                idle = 0
                with mine.session() as session:
                    sub = session.get(Submission, claim.submission_id)
                    assert sub is not None
                    candidate = sub.candidate_id
                with lock:
                    claimed[claim.submission_id] += 1
                    running_per_candidate[candidate] = running_per_candidate.get(candidate, 0) + 1
                    assert running_per_candidate[candidate] == 1, "two runs of one candidate"
                time.sleep(0.005)
                with lock:
                    running_per_candidate[candidate] -= 1
                with mine.session() as session:
                    assert queue.complete(session, claim, status="scored")
        except BaseException as exc:  # noqa: BLE001  (re-raised in the main thread)
            errors.append(exc)
        finally:
            mine.dispose()

    threads = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert sorted(claimed) == sorted(ids)
    assert set(claimed.values()) == {1}
    with db.session() as session:
        statuses = set(session.scalars(select(Submission.status)))
    assert statuses == {"scored"}


def test_an_unreachable_database_is_database_unavailable_not_a_driver_error(db: Database) -> None:
    import pytest

    from heldout.platform.errors import DatabaseUnavailable
    from tests.services import free_port

    down = Database(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/x")
    with pytest.raises(DatabaseUnavailable, match="cannot reach the database"):
        queue.claim(down, "w1", lease_s=30)
    down.dispose()
