"""Scale-out: two worker processes share one PostgreSQL queue; each submission runs once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from heldout.platform.db import Database
from heldout.platform.models import Run
from tests import services
from tests.deploy.test_containers import STARTER, build
from tests.pipeline.harness import Candidate, Installation

pytestmark = [pytest.mark.docker, pytest.mark.postgres]

SUBMISSIONS = 4


@pytest.fixture
def site(
    tmp_path: Path, postgres_server: services.PostgresServer, docker_client: Any
) -> Iterator[Installation]:
    url = postgres_server.create_database("scale_out")
    installation = Installation(tmp_path / "home", url)
    try:
        yield installation
    finally:
        installation.stop()
        print(installation.logs())


def test_two_workers_share_one_postgresql_queue(site: Installation) -> None:
    slug = build(site)
    site.serve()
    workers = [site.worker(), site.worker()]
    # Both are polling before anything is queued, so both can take work.
    services.wait_for(lambda: site.logs().count(" started with ") >= 2, timeout=60)
    ids = []
    for n in range(SUBMISSIONS):
        me = Candidate(site.base, site.invite(slug, f"c{n}@example.com"))
        response = me.submit(STARTER)
        assert response.status_code == 202, response.text
        ids.append((me, response.json()["id"]))

    for me, submission_id in ids:
        assert me.wait(submission_id, timeout=300)["status"] == "scored"
    assert all(worker.poll() is None for worker in workers)

    database = Database(site.env["HELDOUT_DATABASE_URL"])
    with database.session() as session:
        # the scored runs (each attempt also has a candidate run on the bundle's rows)
        runs = session.execute(
            select(Run.submission_id, Run.worker).where(Run.purpose == "scored")
        ).all()
    database.dispose()
    per_submission = [row.submission_id for row in runs]
    assert sorted(per_submission) == sorted(set(per_submission))  # nothing ran twice
    assert len(per_submission) == SUBMISSIONS
    assert len({row.worker for row in runs}) == 2  # both processes took work
