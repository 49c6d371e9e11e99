"""Pipeline throughput: 50 notebooks through the JSON API, `heldout worker --concurrency 2`.

Reports submissions per minute and two per-submission overheads, median and p95:
- beyond the sandbox run: what the pipeline adds around the notebook's run in its container
  (claim, fetching inputs, creating or claiming the container, copying in and out, grading,
  storing, recording); this is the figure with the < 0.5 s target;
- beyond the notebook's own cell time: the above plus kernel start and imports when no warm
  container was ready, and any wait for a CPU (2 cores, 2 runs at once, warm containers
  starting in the background).
The baseline column is the quantity subtracted, from the same runs.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from heldout.platform.models import Run, Submission
from tests.bench import Row
from tests.pipeline.harness import EXAMPLES, Candidate, Installation


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def run(quick: bool) -> list[Row]:
    count = 6 if quick else 50
    home = Path(tempfile.mkdtemp(prefix="heldout-bench-pipeline-"))
    url = f"sqlite:///{home / 'heldout.db'}"
    site = Installation(home, url, HELDOUT_LEASE_SECONDS="30")
    notebook = (EXAMPLES / "churn" / "starter.ipynb").read_bytes()
    try:
        slug = site.build("churn")["slug"]
        site.serve()
        # One candidate runs one submission at a time, so each notebook has its own candidate.
        candidates = [
            Candidate(site.base, site.invite(slug, f"bench{n}@example.com")) for n in range(count)
        ]
        site.worker(concurrency=2)
        time.sleep(3)  # let the worker start its warm containers, as a running worker would
        start = time.monotonic()
        ids = [c.submit(notebook).json()["id"] for c in candidates]
        for candidate, sub in zip(candidates, ids, strict=True):
            assert candidate.wait(sub, timeout=1800)["status"] == "scored"
        elapsed = time.monotonic() - start
    finally:
        site.stop()
    engine = create_engine(url)
    overheads, own, pipeline, sandbox = [], [], [], []
    with Session(engine) as session:
        for sub in session.scalars(select(Submission)):
            final: Run = [r for r in sub.runs if r.purpose == "scored"][-1]
            assert sub.started_at and sub.finished_at
            cells = sum(float(c["seconds"]) for c in final.cell_timings or [])
            total = (sub.finished_at - sub.started_at).total_seconds()
            own.append(cells)
            overheads.append(total - cells)
            sandbox.append(float(final.duration_s or 0.0))
            pipeline.append(total - float(final.duration_s or 0.0))
    engine.dispose()
    note = f"{count} submissions, concurrency 2, churn starter notebook"
    own_note = "baseline: the notebook's own cell time"
    run_note = "baseline: the sandbox run"
    return [
        Row("pipeline throughput", count / elapsed * 60, None, "submissions/min", "-", note),
        Row(
            "pipeline overhead beyond the sandbox run, median",
            statistics.median(pipeline),
            statistics.median(sandbox),
            "s/submission",
            "< 0.5 s",
            run_note,
        ),
        Row(
            "pipeline overhead beyond the sandbox run, p95",
            _p95(pipeline),
            _p95(sandbox),
            "s/submission",
            "< 0.5 s",
            run_note,
        ),
        Row(
            "pipeline overhead beyond cell time, median",
            statistics.median(overheads),
            statistics.median(own),
            "s/submission",
            "-",
            own_note,
        ),
        Row(
            "pipeline overhead beyond cell time, p95",
            _p95(overheads),
            _p95(own),
            "s/submission",
            "-",
            own_note,
        ),
    ]
