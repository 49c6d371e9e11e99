"""`heldout worker` on SIGTERM: finishes what fits in its grace period, hands back the rest."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.harness import Candidate, Installation
from tests.pipeline.test_end_to_end import slow_starter
from tests.services import wait_for

pytestmark = pytest.mark.docker


@pytest.fixture
def site(tmp_path: Path, docker_client: Any) -> Iterator[Installation]:
    installation = Installation(tmp_path / "home", f"sqlite:///{tmp_path / 'heldout.db'}")
    try:
        yield installation
    finally:
        installation.stop()
        print(installation.logs())


def test_sigterm_finishes_a_run_that_fits_in_the_grace_period(site: Installation) -> None:
    slug = site.build("churn")["slug"]
    site.serve()
    me = Candidate(site.base, site.invite(slug, "finish@example.com"))
    sub = me.submit(slow_starter(4)).json()["id"]
    worker = site.worker(env={"HELDOUT_WORKER_GRACE_SECONDS": "120"})
    me.wait(sub, ("running",), timeout=120)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=180) == 0
    assert me.status(sub)["status"] == "scored"


def test_sigterm_hands_back_a_run_past_the_grace_period(
    site: Installation, docker_client: Any
) -> None:
    slug = site.build("churn")["slug"]
    site.serve()
    me = Candidate(site.base, site.invite(slug, "handback@example.com"))
    sub = me.submit(slow_starter(120)).json()["id"]
    worker = site.worker(env={"HELDOUT_WORKER_GRACE_SECONDS": "2"})
    me.wait(sub, ("running",), timeout=120)
    label = {"label": f"heldout.submission={sub}"}
    wait_for(lambda: bool(docker_client.containers.list(filters=label)), timeout=60)
    ours = {c.id for c in docker_client.containers.list(filters=label)}
    started = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)
    assert time.monotonic() - started < 60
    assert me.status(sub)["status"] == "queued"  # back in the queue, for the next worker
    row = next(r for r in site.cli_json("submissions", "list") if r["id"] == sub)
    assert row["attempts"] == 0  # a hand-back is not an attempt
    wait_for(
        lambda: not ours & {c.id for c in docker_client.containers.list(all=True, filters=label)},
        timeout=30,
    )
