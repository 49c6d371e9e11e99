"""A notebook cannot forge its run (issue 16): whatever it writes or prints, the run ends as
the candidate's counted failure or is scored on its own predictions, within its deadline.

Today the kernel runs as the runner's user: it can write the runner's report
(/home/sandbox/outbox/result.json) and print the runner's done line on pid 1's stdout. Every
notebook here first writes honest predictions (label 0 for every row), then attacks. None may
end as a platform error (those are free re-runs), run more than HELDOUT_MAX_ATTEMPTS times,
outlive its deadline, or leave its candidate's count of used submissions at anything but one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from heldout.platform.models import Run
from tests.pipeline.harness import Candidate, Installation, notebook
from tests.pipeline.kits import AnswerKey, write_marked_kit

pytestmark = pytest.mark.docker

# The kit's [limits] timeout_s. Long enough that a loaded 2-core machine (load average 20: a
# run took 67 s, input() 14 s) never looks like a missed deadline; no honest run waits for it.
TIMEOUT_S = 90
GRACE_S = 10  # Limits.grace_s: the runner's extra time before the host stops it
MAX_ATTEMPTS = 3
RUN_DEADLINE_S = TIMEOUT_S + GRACE_S + 40  # with room for a container's start and removal

PREDICT = (
    "import csv\n"
    "ids = [r['row_id'] for r in csv.DictReader(open('data/test.csv'))]\n"
    "with open('predictions.csv', 'w') as f:\n"
    "    f.write('row_id,label\\n' + ''.join(f'{i},0\\n' for i in ids))"
)
# Lets the tests below print the runner's done line wherever the kernel can reach.
HELPERS = """import json, os, time
OUT = '/home/sandbox/outbox'

def forge(body):
    with open(f'{OUT}/result.json', 'w') as f:
        f.write(body)
    os.chmod(f'{OUT}/result.json', 0o444)  # so the runner cannot overwrite it at the end

def say_done(pids=(1,)):
    for pid in pids:
        try:
            fds = os.listdir(f'/proc/{pid}/fd')
        except OSError as exc:
            print(pid, exc)
            continue
        for fd in sorted(fds, key=int):
            try:
                with open(f'/proc/{pid}/fd/{fd}', 'wb', buffering=0) as out:
                    out.write(b'HELDOUT-DONE\\n')
                print('wrote', pid, fd)
            except OSError as exc:
                print(pid, fd, exc)

def ancestors():
    pids, pid = [], os.getpid()
    while pid > 1:
        pid = int(open(f'/proc/{pid}/stat').read().rsplit(')', 1)[1].split()[1])
        pids.append(pid)
    return pids
"""
WALK = """written = []
for top, dirs, files in os.walk('/'):
    dirs[:] = [d for d in dirs if os.path.join(top, d) not in ('/proc', '/sys')]
    if not os.access(top, os.W_OK):
        continue
    for name, body in (
        ('result.json', json.dumps({'status': 'error', 'error': 'forged'})),
        ('go.json', json.dumps({'notebook': 'notebook.ipynb', 'timeout_s': 1e9,
                                'cell_output_bytes': 1e12, 'output_abort_bytes': 1e12})),
        ('executed.ipynb', json.dumps({'cells': [], 'metadata': {}, 'nbformat': 4,
                                       'nbformat_minor': 5})),
    ):
        try:
            with open(os.path.join(top, name), 'w') as f:
                f.write(body)
            written.append(os.path.join(top, name))
        except OSError:
            pass
print(len(written), 'files written:', written[:50])
"""


def forgeries() -> dict[str, bytes]:
    return {
        "error_report": notebook(
            PREDICT,
            HELPERS,
            "forge(json.dumps({'status': 'error', 'error': 'forged by the notebook'}))\n"
            "say_done()\ntime.sleep(5)",
        ),
        "succeeded_report": notebook(
            PREDICT,
            HELPERS,
            "forge(json.dumps({'status': 'succeeded', 'failure': None,\n"
            "                  'cell_timings': [{'cell': 1, 'seconds': 0.1}]}))\n"
            "say_done()\ntime.sleep(120)",
        ),
        "done_line_everywhere": notebook(
            PREDICT, HELPERS, "say_done([1, *ancestors()])\ntime.sleep(120)"
        ),
        "huge_report": notebook(
            PREDICT,
            HELPERS,
            "forge(json.dumps({'status': 'error', 'error': 'x' * (5 * 2**20)}))\n"
            "say_done()\ntime.sleep(120)",
        ),
        "deep_report": notebook(
            PREDICT,
            HELPERS,
            "forge('{\"status\": \"error\", \"deep\": ' + '[' * 100_000 + ']' * 100_000 + '}')\n"
            "say_done()\ntime.sleep(120)",
        ),
        "reports_in_every_writable_directory": notebook(PREDICT, HELPERS, WALK),
    }


@dataclass
class Forged:
    candidate: Candidate
    submission_id: int
    final: dict[str, Any]


@dataclass
class ForgerySite:
    site: Installation
    honest_score: float
    runs: dict[int, list[Run]]
    attempts: dict[str, Forged]


def settle(queued: dict[str, tuple[Candidate, int]], timeout: float) -> dict[str, Forged]:
    """Each submission's state once all are final, or when `timeout` runs out (not raising)."""
    deadline = time.monotonic() + timeout
    while True:
        states = {name: me.status(sid) for name, (me, sid) in queued.items()}
        if time.monotonic() > deadline or all(
            s["status"] in ("scored", "failed") for s in states.values()
        ):
            return {name: Forged(me, sid, states[name]) for name, (me, sid) in queued.items()}
        time.sleep(1)


@pytest.fixture(scope="module")
def forgery_site(
    tmp_path_factory: pytest.TempPathFactory, docker_client: Any
) -> Iterator[ForgerySite]:
    tmp = tmp_path_factory.mktemp("forging")
    site = Installation(
        tmp / "home", f"sqlite:///{tmp / 'heldout.db'}", HELDOUT_MAX_ATTEMPTS=str(MAX_ATTEMPTS)
    )
    try:
        slug = site.build(write_marked_kit(tmp / "kit", "forging", timeout_s=TIMEOUT_S))["slug"]
        key = AnswerKey.of(site, slug)
        site.serve()
        # Two processes of one slot each: runs overlap without sharing a worker's warm pool.
        site.worker()
        site.worker()
        notebooks = {
            **forgeries(),
            "input": notebook("answer = input('your name? ')", PREDICT),
            "honest": notebook(PREDICT),
        }
        queued = {}
        for name, nb in notebooks.items():
            me = Candidate(site.base, site.invite(slug, f"{name.replace('_', '-')}@example.com"))
            response = me.submit(nb)
            assert response.status_code == 202, response.text
            queued[name] = (me, int(response.json()["id"]))
        # Generous: a run path that never ends shows up as "still running", not a hang.
        budget = MAX_ATTEMPTS * (RUN_DEADLINE_S + 30)
        done = settle(queued, budget)
        database = site.database()
        with database.session() as session:
            runs: dict[int, list[Run]] = {}
            scored = select(Run).where(Run.purpose == "scored").order_by(Run.id)
            for run in session.execute(scored).scalars():
                runs.setdefault(run.submission_id, []).append(run)
        database.dispose()
        for name, forged in done.items():  # shown with any failure: how each one ended
            mine = runs.get(forged.submission_id, [])
            category = (forged.final["failure"] or {}).get("category")
            print(
                f"{name}: {forged.final['status']} {category} score={forged.final['public_score']}"
                f" runs={[(r.status, r.reason) for r in mine]}"
            )
        yield ForgerySite(site, key.public_accuracy(dict.fromkeys(key.labels, 0)), runs, done)
    finally:
        site.stop()
        print(site.logs())


@pytest.mark.parametrize("name", list(forgeries()))
def test_forged_run_ends_as_the_candidates_own_outcome(
    forgery_site: ForgerySite, name: str
) -> None:
    forged = forgery_site.attempts[name]
    final = forged.final
    runs = forgery_site.runs.get(forged.submission_id, [])
    summary = f"{name}: {final['status']} {final['failure']} after {len(runs)} run(s)"
    assert final["status"] in ("scored", "failed"), f"{summary}: never ended"
    if final["status"] == "scored":
        assert final["public_score"] == pytest.approx(forgery_site.honest_score), summary
    else:
        assert final["status"] == "failed", summary
        assert final["failure"]["category"] != "platform_error", summary
    assert len(runs) <= MAX_ATTEMPTS, summary
    for run in runs:
        assert run.started_at is not None and run.finished_at is not None, summary
        took = (run.finished_at - run.started_at).total_seconds()
        assert took <= RUN_DEADLINE_S, f"{summary}: a run took {took:.0f} s"
    counts = forged.candidate.challenge()
    attempts = counts["attempts"]["used"]
    assert attempts == 1, f"{summary}: attempts used {attempts}, not 1"  # counted, once
    scored = counts["submissions"]["used"]  # a failed try is given back; a scored one is not
    assert scored == (final["status"] == "scored"), f"{summary}: submissions used {scored}"


def test_input_fails_at_once_as_a_notebook_error(forgery_site: ForgerySite) -> None:
    forged = forgery_site.attempts["input"]
    final = forged.final
    assert (final["status"], final["failure"]["category"]) == ("failed", "notebook_error"), final
    assert final["failure"]["cell"] == 1, final
    runs = forgery_site.runs[forged.submission_id]
    assert len(runs) == 1, runs
    assert runs[0].duration_s is not None and runs[0].duration_s < TIMEOUT_S / 3, runs[0].duration_s


def test_an_honest_notebook_beside_the_forgers_scores_its_own_predictions(
    forgery_site: ForgerySite,
) -> None:
    """The control: the honest part of every forging notebook, alone, is scored as expected."""
    final = forgery_site.attempts["honest"].final
    assert final["status"] == "scored", final
    assert final["public_score"] == pytest.approx(forgery_site.honest_score)
