"""Run integrity (issue 16): under concurrency, several workers and a killed worker, every
submission is scored exactly once, on its own notebook, with its own score.

Each notebook is tiny but unique: it is right on its own number of public rows (so its public
accuracy is known in advance and differs from every other one), has its own number of code
cells and prints its own marker. A run that used another submission's container, notebook or
predictions shows up as a wrong score, a wrong cell count or a foreign marker.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from heldout.platform.models import Run, Submission
from tests import services
from tests.pipeline.harness import Candidate, Installation, notebook
from tests.pipeline.kits import AnswerKey, write_marked_kit

pytestmark = [pytest.mark.docker, pytest.mark.postgres]

CANDIDATES = 8
PER_CANDIDATE = 3  # 24 submissions
MAX_ATTEMPTS = 5  # HELDOUT_MAX_ATTEMPTS's default
FINAL = ("scored", "failed")


@dataclass
class Planned:
    """One queued submission and what it must end as."""

    candidate: Candidate
    marker: str
    cells: int
    expected: float
    id: int = 0


def soak_notebook(marker: str, cells: int, predictions: dict[str, int], period_s: float) -> bytes:
    """`cells` code cells that print `marker`, write exactly `predictions`, then wait.

    The last cell sleeps until the wall clock reaches a multiple of `period_s`: runs in
    parallel slots end at the same instant, so their next claims race as hard as they can.
    """
    fixed = [
        "import csv\nimport time",
        f"MARKER = {marker!r}\nprint(MARKER)",
        f"PRED = {json.dumps(predictions)}",
        "with open('data/test.csv', newline='') as f:\n"
        "    ids = [r['row_id'] for r in csv.DictReader(f)]\n"
        "with open('predictions.csv', 'w', newline='') as f:\n"
        "    w = csv.writer(f)\n"
        "    w.writerow(['row_id', 'label'])\n"
        "    w.writerows([i, PRED[i]] for i in ids)",
    ]
    filler = [f"print({marker!r}, 'cell', {n})" for n in range(cells - len(fixed) - 1)]
    wait = f"time.sleep({period_s} - time.time() % {period_s})"
    return notebook(*fixed, *filler, wait)


@pytest.fixture
def site(
    tmp_path: Path, postgres_server: services.PostgresServer, docker_client: Any
) -> Iterator[Installation]:
    url = postgres_server.create_database(f"soak_{uuid.uuid4().hex[:10]}")
    installation = Installation(tmp_path / "home", url)
    try:
        yield installation
    finally:
        installation.stop()
        print(installation.logs())


def queue_soak(site: Installation, tmp_path: Path, period_s: float) -> list[Planned]:
    """Build the marked kit, invite 8 candidates and queue 24 distinct notebooks through the API."""
    slug = site.build(write_marked_kit(tmp_path / "kit", "soak"))["slug"]
    site.serve()
    key = AnswerKey.of(site, slug)
    candidates = [
        Candidate(site.base, site.invite(slug, f"soak{n}@example.com")) for n in range(CANDIDATES)
    ]
    planned: list[Planned] = []
    for n in range(CANDIDATES * PER_CANDIDATE):
        predictions = key.predictions(right_public=len(key.public) - 1 - 3 * n)
        planned.append(
            Planned(
                candidate=candidates[n % CANDIDATES],
                marker=f"SOAKMARK{uuid.uuid4().hex}",
                cells=5 + n,
                expected=key.public_accuracy(predictions),
            )
        )
        nb = soak_notebook(planned[-1].marker, planned[-1].cells, predictions, period_s)
        response = planned[-1].candidate.submit(nb)
        assert response.status_code == 202, response.text
        planned[-1].id = response.json()["id"]
    assert len({p.expected for p in planned}) == len(planned)  # every score tells one apart
    return planned


def wait_all_final(site: Installation, ids: list[int], timeout: float) -> None:
    database = site.database()
    try:

        def final() -> bool:
            with database.session() as session:
                statuses = session.execute(
                    select(Submission.status).where(Submission.id.in_(ids))
                ).scalars()
                return all(s in FINAL for s in statuses)

        try:
            services.wait_for(final, timeout=timeout, interval=1.0)
        except AssertionError:
            with database.session() as session:
                left = session.execute(
                    select(Submission.id, Submission.status).where(Submission.status.notin_(FINAL))
                ).all()
            raise AssertionError(f"not final after {timeout:.0f} s: {left}") from None
    finally:
        database.dispose()


def runs_by_submission(site: Installation, purpose: str = "scored") -> dict[int, list[Run]]:
    database = site.database()
    try:
        with database.session() as session:
            # the scored runs: each attempt may also have a candidate run on the bundle's rows
            runs = (
                session.execute(select(Run).where(Run.purpose == purpose).order_by(Run.id))
                .scalars()
                .all()
            )
    finally:
        database.dispose()
    found: dict[int, list[Run]] = {}
    for run in runs:
        found.setdefault(run.submission_id, []).append(run)
    return found


def code_cells(executed: dict[str, Any]) -> int:
    return sum(1 for c in executed["cells"] if c["cell_type"] == "code")


def output_text(executed: dict[str, Any]) -> str:
    return json.dumps([c.get("outputs", []) for c in executed["cells"]])


def check_each_scored_once_on_its_own(
    site: Installation, planned: list[Planned], timeout: float = 240
) -> None:
    """Every submission: scored once, its own score, cell count and marker, nobody else's."""
    wait_all_final(site, [p.id for p in planned], timeout=timeout)
    time.sleep(7)  # longer than a lease: a stray re-run would have started by now
    runs = runs_by_submission(site)
    shown = runs_by_submission(site, "candidate")
    markers = {p.marker for p in planned}
    problems: list[str] = []
    for p in planned:
        status = p.candidate.status(p.id)
        mine = runs.get(p.id, [])
        finished = [r for r in mine if r.finished_at is not None and r.status != "platform_error"]
        if status["status"] != "scored":
            problems.append(f"#{p.id}: {status['status']} {status['failure']}")
            continue
        if status["public_score"] is None or abs(status["public_score"] - p.expected) > 1e-9:
            problems.append(f"#{p.id}: public score {status['public_score']}, its own {p.expected}")
        if len(mine) > MAX_ATTEMPTS:
            problems.append(f"#{p.id}: {len(mine)} runs, more than {MAX_ATTEMPTS} attempts")
        if len(finished) != 1:
            problems.append(f"#{p.id}: {len(finished)} finished runs, not exactly one")
            continue
        run = finished[0]
        recorded = len(run.cell_timings or [])
        if recorded != p.cells:
            problems.append(f"#{p.id}: run recorded {recorded} cells, its notebook has {p.cells}")
        if run.executed_key is None:
            problems.append(f"#{p.id}: no executed notebook stored")
            continue
        text = site.stored(run.executed_key).read_text()
        executed = json.loads(text)
        if p.marker not in output_text(executed):
            problems.append(f"#{p.id}: its own marker is not in its executed notebook's outputs")
        if code_cells(executed) != p.cells:
            problems.append(f"#{p.id}: executed notebook has {code_cells(executed)} code cells")
        foreign = sorted(m for m in markers - {p.marker} if m in text)
        if foreign:
            owners = [q.id for q in planned if q.marker in foreign]
            problems.append(f"#{p.id}: its executed notebook holds the markers of {owners}")
        # what the candidate is shown comes from the candidate run: also theirs alone
        candidate_runs = [r for r in shown.get(p.id, []) if r.executed_key]
        if len(candidate_runs) != 1:
            problems.append(f"#{p.id}: {len(candidate_runs)} candidate runs with a notebook")
            continue
        seen = site.stored(str(candidate_runs[0].executed_key)).read_text()
        if p.marker not in seen or any(m in seen for m in markers - {p.marker}):
            problems.append(f"#{p.id}: the notebook shown to the candidate is not its own")
    assert not problems, f"{len(problems)} problem(s):\n" + "\n".join(problems)


def test_one_worker_with_two_slots_and_warm_containers_scores_each_submission_on_its_own(
    site: Installation, tmp_path: Path
) -> None:
    planned = queue_soak(site, tmp_path, period_s=2)
    # as production runs where the engine has gVisor: HELDOUT_SANDBOX_RUNTIME=auto picks runsc
    site.env["HELDOUT_SANDBOX_RUNTIME"] = "auto"
    site.worker(concurrency=2)  # HELDOUT_SANDBOX_WARM is on by default
    check_each_scored_once_on_its_own(site, planned, timeout=900)  # runsc runs are slower
    runtimes = {
        (r.result or {}).get("runtime") for rs in runs_by_submission(site).values() for r in rs
    }
    assert runtimes == {"runsc"}, runtimes


def test_two_worker_processes_on_one_postgresql_score_each_submission_on_its_own(
    site: Installation, tmp_path: Path
) -> None:
    planned = queue_soak(site, tmp_path, period_s=2)
    site.worker()
    site.worker()
    check_each_scored_once_on_its_own(site, planned)
    workers = {r.worker for rs in runs_by_submission(site).values() for r in rs}
    assert len(workers) == 2, workers  # both processes took work


def test_worker_killed_mid_soak_leaves_every_submission_scored_once_on_its_own(
    site: Installation, tmp_path: Path
) -> None:
    planned = queue_soak(site, tmp_path, period_s=3)
    first = site.worker(concurrency=2)
    database = site.database()
    try:

        def some_done_and_some_running() -> bool:
            with database.session() as session:
                statuses = list(session.execute(select(Submission.status)).scalars())
            return statuses.count("running") >= 1 and sum(s in FINAL for s in statuses) >= 3

        services.wait_for(some_done_and_some_running, timeout=180, interval=0.2)
    finally:
        database.dispose()
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    site.worker(concurrency=2)  # takes the killed worker's runs once their 5 s leases expire
    check_each_scored_once_on_its_own(site, planned)
    interrupted = [
        r
        for rs in runs_by_submission(site).values()
        for r in rs
        if f":{first.pid}:" in r.worker and r.finished_at is None
    ]
    assert interrupted, "the kill interrupted no run; the test proved nothing"
