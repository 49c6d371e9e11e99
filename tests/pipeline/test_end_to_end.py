"""Submissions end to end: CLI, HTTP API, worker processes and the real Docker sandbox.

Runs on SQLite and on PostgreSQL (the `database_url` fixture).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pipeline.harness import EXAMPLES, Candidate, Installation, notebook
from tests.services import wait_for

pytestmark = pytest.mark.docker

STARTER = (EXAMPLES / "churn" / "starter.ipynb").read_bytes()


def slow_starter(seconds: int) -> bytes:
    """The honest starter notebook with a sleep first, to be caught mid-run."""
    nb = json.loads(STARTER)
    nb["cells"].insert(
        0,
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "sleepy",
            "metadata": {},
            "outputs": [],
            "source": f"import time\ntime.sleep({seconds})",
        },
    )
    return json.dumps(nb).encode()


@pytest.fixture
def site(tmp_path: Path, database_url: str, docker_client: Any) -> Iterator[Installation]:
    installation = Installation(tmp_path / "home", database_url)
    try:
        yield installation
    finally:
        installation.stop()
        print(installation.logs())


def test_honest_failing_and_invalid_notebooks_over_http(site: Installation) -> None:
    slug = site.build("churn")["slug"]
    site.serve()
    site.worker(concurrency=2)
    me = Candidate(site.base, site.invite(slug, "ada@example.com"))

    honest = me.submit(STARTER)
    failing = me.submit(notebook("import pandas as pd", "x = 1\nraise ValueError('boom')"))
    invalid = me.submit(b"this is not a notebook")
    assert (honest.status_code, failing.status_code) == (202, 202)
    assert invalid.status_code == 400 and "not valid JSON" in invalid.json()["error"]

    scored = me.wait(honest.json()["id"])
    assert scored["status"] == "scored", scored
    assert 0.0 <= scored["public_score"] <= 1.0
    assert "private" not in json.dumps(scored)

    failed = me.wait(failing.json()["id"])
    assert (failed["status"], failed["failure"]["category"]) == ("failed", "notebook_error")
    assert failed["failure"]["ename"] == "ValueError"
    assert failed["failure"]["cell"] == 2  # counted from 1, as a candidate reads them
    # the evalue comes from the candidate run on the candidate's own rows (same failure)
    assert failed["failure"]["message"] == "Cell 2 raised ValueError."
    assert "boom" in failed["failure"]["evalue"]
    counts = me.challenge()
    assert counts["submissions"]["used"] == 1  # scored ones; the failed try was given back
    assert counts["attempts"]["used"] == 2  # every charged run; the invalid upload never ran

    listed = site.cli_json("submissions", "list")
    assert {row["status"] for row in listed} == {"scored", "failed"}
    assert all(row["private_score"] is not None for row in listed if row["status"] == "scored")


def test_worker_killed_mid_run_is_rerun_and_scored_once(
    site: Installation, docker_client: Any
) -> None:
    slug = site.build("churn")["slug"]
    site.serve()
    me = Candidate(site.base, site.invite(slug, "kill@example.com"))
    sub = me.submit(slow_starter(8)).json()["id"]

    first = site.worker()
    me.wait(sub, ("running",), timeout=60)

    def owners_now() -> set[str]:
        """The first worker's containers (its run and its warm ones), none of anyone else's:
        other installations may share the engine."""
        return {
            c.labels["heldout.worker"]
            for c in docker_client.containers.list(filters={"label": "heldout.sandbox"})
            if c.labels.get("heldout.worker", "").split(":")[1:2] == [str(first.pid)]
        }

    wait_for(lambda: bool(owners_now()), timeout=60)
    owners = owners_now()
    assert owners
    os.kill(first.pid, signal.SIGKILL)
    first.wait()

    site.worker()  # claims it again once the 5 s lease has expired
    done = me.wait(sub, timeout=240)
    assert done["status"] == "scored", done
    row = next(r for r in site.cli_json("submissions", "list") if r["id"] == sub)
    assert row["attempts"] == 2
    # The dead worker's container is reaped by the next worker, not left running.
    wait_for(
        lambda: (
            not [
                c
                for c in docker_client.containers.list(
                    all=True, filters={"label": "heldout.sandbox"}
                )
                if c.labels.get("heldout.worker") in owners
            ]
        ),
        timeout=60,
    )


def test_engine_down_is_retried_as_platform_error_without_using_quota(site: Installation) -> None:
    slug = site.build("churn")["slug"]
    site.serve()
    me = Candidate(site.base, site.invite(slug, "down@example.com"))
    sub = me.submit(STARTER).json()["id"]
    broken = {"DOCKER_HOST": f"unix://{site.home}/no-engine.sock", "HELDOUT_MAX_ATTEMPTS": "2"}
    site.worker(env=broken)
    failed = me.wait(sub, timeout=120)
    assert (failed["status"], failed["failure"]["category"]) == ("failed", "platform_error")
    assert "not your code" in failed["failure"]["message"]
    counts = me.challenge()  # the platform's fault never counts
    assert (counts["submissions"]["used"], counts["attempts"]["used"]) == (0, 0)
    assert "cannot reach the Docker engine" in site.logs()  # said at start, not only per run

    site.stop()
    site.processes.clear()
    site.serve()
    site.worker()
    retried = me.submit(STARTER).json()["id"]
    assert me.wait(retried)["status"] == "scored"
    assert me.challenge()["submissions"]["used"] == 1


def test_submission_limit_over_http(site: Installation) -> None:
    site.build("churn")
    site.cli("challenge", "publish", "churn")
    site.serve()
    me = Candidate(site.base, site.invite("churn", "limit@example.com"))
    limit = me.challenge()["submissions"]["limit"]
    for _ in range(limit):
        assert me.submit(STARTER).status_code == 202
    refused = me.submit(STARTER)
    assert refused.status_code == 429
    assert f"all {limit} scored submissions" in refused.json()["error"]
    time.sleep(0)  # no worker needed: the limit holds for queued submissions too
