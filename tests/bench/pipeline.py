"""Pipeline throughput: 50 notebooks through the JSON API, `heldout worker --concurrency 2`.

Each submission runs twice in its claim by default: the scored run on every test row and the
candidate run on the bundle's rows (what the candidate is shown; HELDOUT_CANDIDATE_RUN). The
same 50 go through a second installation with HELDOUT_CANDIDATE_RUN=never, the baseline for
throughput and latency: what the candidate run costs. Also, median and p95:
- overhead beyond the sandbox runs: what the pipeline adds around the runs in their containers
  (claim, fetching inputs, creating or claiming containers, copying in and out, grading,
  storing, recording); this is the figure with the < 0.5 s target;
- overhead beyond the notebook's own cell time: the above plus the candidate run, kernel start
  and imports when no warm container was ready, and any wait for a CPU (2 cores, 2 runs at
  once, warm containers starting in the background).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from heldout.platform.models import Submission
from tests.bench import Row
from tests.pipeline.harness import EXAMPLES, Candidate, Installation


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _measure(count: int, candidate_run: str) -> dict[str, Any]:
    """`count` starter notebooks through the API and one `--concurrency 2` worker."""
    home = Path(tempfile.mkdtemp(prefix="heldout-bench-pipeline-"))
    url = f"sqlite:///{home / 'heldout.db'}"
    site = Installation(home, url, HELDOUT_LEASE_SECONDS="30", HELDOUT_CANDIDATE_RUN=candidate_run)
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
    found: dict[str, Any] = {"elapsed": elapsed, "latency": [], "cells": [], "runs": []}
    with Session(engine) as session:
        for sub in session.scalars(select(Submission)):
            runs = [r for r in sub.runs if r.attempt == sub.attempts]
            scored = [r for r in runs if r.purpose == "scored"][-1]
            assert sub.started_at and sub.finished_at
            found["latency"].append((sub.finished_at - sub.started_at).total_seconds())
            found["cells"].append(sum(float(c["seconds"]) for c in scored.cell_timings or []))
            # the sandbox runs of the attempt: the scored one and the candidate's, if any
            found["runs"].append(sum(float(r.duration_s or 0.0) for r in runs))
    engine.dispose()
    return found


def run(quick: bool) -> list[Row]:
    count = 6 if quick else 50
    # the candidate run (HELDOUT_CANDIDATE_RUN=always, the default) against none, same bench
    ours, bare = _measure(count, "always"), _measure(count, "never")
    latency, runs = ours["latency"], ours["runs"]
    pipeline = [t - r for t, r in zip(latency, runs, strict=True)]
    beyond_cells = [t - c for t, c in zip(latency, ours["cells"], strict=True)]
    note = f"{count} submissions, concurrency 2, churn starter notebook"
    return [
        Row(
            "pipeline throughput",
            count / ours["elapsed"] * 60,
            count / bare["elapsed"] * 60,
            "submissions/min",
            "-",
            f"{note}; baseline: HELDOUT_CANDIDATE_RUN=never (no second run on the bundle's rows)",
        ),
        Row(
            "pipeline latency per submission, median",
            statistics.median(latency),
            statistics.median(bare["latency"]),
            "s/submission",
            "-",
            "claim to scored; baseline: HELDOUT_CANDIDATE_RUN=never",
        ),
        Row(
            "pipeline overhead beyond the sandbox runs, median",
            statistics.median(pipeline),
            statistics.median(runs),
            "s/submission",
            "< 0.5 s",
            "baseline: the attempt's sandbox runs (scored + candidate)",
        ),
        Row(
            "pipeline overhead beyond the sandbox runs, p95",
            _p95(pipeline),
            _p95(runs),
            "s/submission",
            "< 0.5 s",
            "baseline: the attempt's sandbox runs (scored + candidate)",
        ),
        Row(
            "pipeline overhead beyond cell time, median",
            statistics.median(beyond_cells),
            statistics.median(ours["cells"]),
            "s/submission",
            "-",
            "baseline: the notebook's own cell time (scored run)",
        ),
    ]
