"""The reviewer dashboard of a challenge with 10,000 submissions: server time per page.

Ours: full GET /review/c/<slug> through the Flask test client (session check, the page
query, rendering), over sorted, filtered and paginated pages. Baseline: the bare SQL of
a sorted page (`SELECT ... ORDER BY public_score LIMIT 50`) on the same database.
"""

from __future__ import annotations

import hashlib
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.models import (
    Candidate,
    Invitation,
    Review,
    Submission,
    utcnow,
)
from heldout.platform.services import accounts
from tests.bench import Row
from tests.factories import make_challenge

PASSWORD = "benchmark password"
PAGES = [
    "",
    "?sort=public",
    "?sort=public&dir=asc",
    "?sort=private",
    "?sort=candidate&dir=asc",
    "?sort=reviews",
    "?status=scored&sort=public",
    "?review=todo",
    "?review=unreviewed&sort=private",
    "?q=07&sort=public",
    "?page=40",
    "?sort=public&page=150",
]


def populate(db: Database, n: int, seed: int = 7) -> tuple[int, str, list[int]]:
    """A challenge with `n` submissions from n/3 candidates, a quarter of them reviewed twice."""
    rng = random.Random(seed)
    with db.session() as session:
        challenge = make_challenge(session)
        challenge.versions[0].spec = {
            "slug": challenge.slug,
            "rubric": {"criteria": [{"name": "Methodology", "weight": 1, "anchors": []}]},
        }
        version_id = challenge.versions[0].id
        challenge_id, slug = challenge.id, challenge.slug
    people = max(n // 3, 1)
    reviewers = [
        accounts.add_user(db, f"bench{i}-{slug}@example.com", "reviewer", PASSWORD).id
        for i in range(2)
    ]
    for email in (f"bench0-{slug}@example.com", f"bench1-{slug}@example.com"):
        accounts.assign(db, email, slug)
    now = utcnow()
    with db.session() as session:
        first = (session.scalar(text("SELECT max(id) FROM candidates")) or 0) + 1
        session.execute(
            insert(Candidate),
            [
                {
                    "email": f"c{first + i}@example.com",
                    "name": f"Name {i}",
                    "pseudonym": f"Candidate {first + i:06d}",
                }
                for i in range(people)
            ],
        )
        session.execute(
            insert(Invitation),
            [
                {
                    "challenge_id": challenge_id,
                    "candidate_id": first + i,
                    "token_hash": hashlib.sha256(f"{slug}-{first + i}".encode()).hexdigest(),
                }
                for i in range(people)
            ],
        )
        invitations: dict[int, int] = dict(
            session.execute(
                text("SELECT candidate_id, id FROM invitations WHERE challenge_id = :c"),
                {"c": challenge_id},
            ).all()
        )
        rows: list[dict[str, Any]] = []
        for i in range(n):
            candidate = first + i % people
            status = rng.choices(["scored", "failed", "queued"], [0.85, 0.1, 0.05])[0]
            public = round(rng.betavariate(5, 2), 4) if status == "scored" else None
            private = round(public + rng.gauss(0, 0.02), 4) if public is not None else None
            grading = (
                {
                    "metric": "f1",
                    "higher_is_better": True,
                    "public": {
                        "score": public,
                        "n": 500,
                        "ci_low": public - 0.03,
                        "ci_high": public + 0.03,
                        "baseline": 0.41,
                    },
                    "private": {
                        "score": private,
                        "n": 500,
                        "ci_low": (private or 0) - 0.03,
                        "ci_high": (private or 0) + 0.03,
                        "baseline": 0.4,
                    },
                }
                if public is not None
                else None
            )
            rows.append(
                {
                    "invitation_id": invitations[candidate],
                    "candidate_id": candidate,
                    "version_id": version_id,
                    "notebook_key": f"submissions/{i}.ipynb",
                    "notebook_sha256": f"{i:064d}",
                    "notebook_size": 1000,
                    "status": status,
                    "public_score": public,
                    "private_score": private,
                    "grading": grading,
                    "created_at": now - timedelta(minutes=n - i),
                }
            )
        session.execute(insert(Submission), rows)
        ids = [
            r[0]
            for r in session.execute(
                text(
                    "SELECT s.id FROM submissions s JOIN challenge_versions v "
                    "ON v.id = s.version_id WHERE v.challenge_id = :c AND s.status = 'scored'"
                ),
                {"c": challenge_id},
            )
        ]
        reviewed = ids[: len(ids) // 4]
        session.execute(
            insert(Review),
            [
                {
                    "submission_id": sid,
                    "reviewer_id": reviewer,
                    "scores": {"Methodology": {"score": rng.randint(1, 5), "comment": ""}},
                    "red_flags": [],
                    "recommendation": rng.choice(["no", "yes"]),
                    "comment": "",
                    "submitted_at": now,
                }
                for sid in reviewed
                for reviewer in reviewers
            ],
        )
    return challenge_id, slug, reviewers


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(round(q / 100 * (len(ordered) - 1)), len(ordered) - 1)]


def measure(url: str | None, n: int, requests: int) -> dict[str, float]:
    """p50/p95 of the dashboard page and of the bare SQL, in milliseconds."""
    from heldout.platform.app import create_app

    with tempfile.TemporaryDirectory(prefix="heldout-bench-") as home:
        env = {
            "HELDOUT_HOME": home,
            "HELDOUT_DATABASE_URL": url or f"sqlite:///{Path(home) / 'heldout.db'}",
            "HELDOUT_SECRET_KEY": "bench",
        }
        app = create_app({"TESTING": True}, config=Config.from_env(env))
        db: Database = app.extensions["heldout"].db
        challenge_id, slug, _ = populate(db, n)
        client = app.test_client()
        client.get("/review/login")
        with client.session_transaction() as sess:
            token = sess["csrf"]
        client.post(
            "/review/login",
            data={"email": f"bench0-{slug}@example.com", "password": PASSWORD, "csrf_token": token},
        )
        for page in PAGES:  # warm up: caches, template compilation
            assert client.get(f"/review/c/{slug}{page}").status_code == 200
        times = []
        for i in range(requests):
            start = time.perf_counter()
            response = client.get(f"/review/c/{slug}{PAGES[i % len(PAGES)]}")
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200
        bare = []
        sql = text(
            "SELECT s.id, s.public_score FROM submissions s JOIN challenge_versions v "
            "ON v.id = s.version_id WHERE v.challenge_id = :c "
            "ORDER BY s.public_score DESC LIMIT 50"
        )
        with db.engine.connect() as conn:
            for _ in range(requests):
                start = time.perf_counter()
                conn.execute(sql, {"c": challenge_id}).all()
                bare.append((time.perf_counter() - start) * 1000)
        db.dispose()
    return {
        "p50": statistics.median(times),
        "p95": _percentile(times, 95),
        "sql_p50": statistics.median(bare),
        "sql_p95": _percentile(bare, 95),
    }


def run(quick: bool) -> list[Row]:
    n, requests = (2_000, 30) if quick else (10_000, 120)
    rows = []
    targets: list[tuple[str, str | None]] = [("sqlite", None)]
    server = _postgres()
    if server is not None:
        targets.append(("postgres", server.create_database("bench_dashboard")))
    try:
        for name, url in targets:
            found = measure(url, n, requests)
            note = f"{n} submissions, {requests} requests over {len(PAGES)} sorted/filtered pages"
            rows.append(
                Row(
                    f"dashboard p50 ({name})",
                    found["p50"],
                    found["sql_p50"],
                    "ms",
                    "-",
                    note + "; baseline: bare sorted page SQL",
                )
            )
            rows.append(
                Row(
                    f"dashboard p95 ({name})", found["p95"], found["sql_p95"], "ms", "< 50 ms", note
                )
            )
    finally:
        if server is not None:
            server.stop()
    return rows


def _postgres() -> Any:
    try:
        from tests.services import PostgresServer

        return PostgresServer()
    except Exception:  # noqa: BLE001  (no PostgreSQL here: measure SQLite only)
        return None
