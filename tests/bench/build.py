"""Challenge build throughput: a generated 1,000,000-row, 20-column table, every transform.

Baseline: reading the same CSV and writing it back with pandas (no anonymization), as the
floor of what any CSV-to-CSV pipeline costs on this machine.
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pcsv

from tests.bench import Row

TARGET_ROWS_PER_S = 300_000

TOML = """
slug = "bench"
title = "Benchmark"
brief = "brief.md"
[data]
source = "data.csv"
id = "customer_id"
target = "churned"
max_mb = 4096
[split]
test_fraction = 0.3
private_fraction = 0.5
stratify = true
seed = 7
[metric]
name = "f1"
[columns]
customer_id = "pseudonymize"
name = "drop"
email = "drop"
phone = "drop"
signup_date = { shift_days = 30, by = "customer_id" }
last_seen = { shift_days = 30, by = "customer_id" }
age = { bins = [18, 25, 35, 50, 65, 120] }
zip = { truncate = 3 }
income = { noise = "laplace", scale = 1000 }
balance = { noise = "gaussian", scale = 50, round = 2 }
tenure = { top_code = 120 }
spend = { bottom_code = 5 }
notes = "mask"
[privacy]
quasi_identifiers = ["age", "zip", "gender"]
k = 5
suppress = true
"""


def generate(rows: int, path: Path, seed: int = 1) -> None:
    """A table full of personal columns, vectorized (no per-row Python)."""
    rng = np.random.default_rng(seed)
    first = np.array(["James", "Mary", "Robert", "Linda", "Priya", "Wei", "Carlos", "Aisha"])
    last = np.array(["Smith", "Jones", "Garcia", "Nakamura", "Okafor", "Larsen", "Novak"])
    f = first[rng.integers(0, len(first), rows)].astype(object)
    s = last[rng.integers(0, len(last), rows)].astype(object)
    serial = np.arange(rows).astype(str).astype(object)
    names = f + " " + s
    emails = np.char.lower((f + "." + s + serial + "@example.com").astype(str)).astype(object)
    phones = (
        "+1 555-"
        + rng.integers(100, 999, rows).astype(str).astype(object)
        + "-"
        + rng.integers(1000, 9999, rows).astype(str).astype(object)
    )
    templates = np.array(
        ["Called {p} about billing.", "Wrote to {e}.", "No issues.", "Asked for a discount."],
        dtype=object,
    )
    pick = rng.integers(0, len(templates), rows)
    notes = np.where(
        pick == 0,
        "Called " + phones + " about billing.",
        np.where(pick == 1, "Wrote to " + emails + ".", templates[pick]),
    )
    base = np.datetime64("2015-01-01")
    signup = base + rng.integers(0, 3000, rows).astype("timedelta64[D]")
    table = pa.table(
        {
            "customer_id": pa.array("C" + np.char.zfill(np.arange(rows).astype(str), 8)),
            "name": pa.array(names.astype(str)),
            "email": pa.array(emails.astype(str)),
            "phone": pa.array(phones.astype(str)),
            "signup_date": pa.array(signup),
            "last_seen": pa.array(signup + rng.integers(0, 900, rows).astype("timedelta64[D]")),
            "age": rng.integers(18, 90, rows),
            "zip": pa.array(rng.choice(["941", "100", "606"], rows).astype(object) + "12"),
            "income": rng.integers(20_000, 200_000, rows),
            "balance": np.round(rng.normal(1000, 300, rows), 2),
            "tenure": rng.integers(1, 200, rows),
            "spend": np.round(rng.exponential(40, rows), 2),
            "notes": pa.array(notes.astype(str)),
            "gender": rng.choice(["F", "M"], rows),
            "plan": rng.choice(["basic", "standard", "premium"], rows),
            "region": rng.choice([f"region-{i}" for i in range(10)], rows),
            "usage": np.round(rng.gamma(2.0, 10.0, rows), 3),
            "score": np.round(rng.random(rows), 4),
            "logins": rng.poisson(5, rows),
            "churned": (rng.random(rows) < 0.3).astype(np.int64),
        }
    )
    pcsv.write_csv(table, path)


FRESH = """
import json, sys, time
from pathlib import Path
kit = Path(sys.argv[2])
if sys.argv[1] == "ours":
    from heldout.challenges import build, load_spec
    spec = load_spec(kit)
    started = time.perf_counter()
    build(spec, "bench-secret", kit / "fresh")
else:
    import pandas as pd
    started = time.perf_counter()
    pd.read_csv(kit / "data.csv").to_csv(kit / "copy.csv", index=False)
print(json.dumps(time.perf_counter() - started))
"""


def _fresh(which: str, kit: Path) -> float:
    """Seconds of one build (or baseline copy) timed inside a new Python process."""
    done = subprocess.run(
        [sys.executable, "-c", FRESH, which, str(kit)], check=True, capture_output=True, text=True
    )
    shutil.rmtree(kit / "fresh", ignore_errors=True)
    (kit / "copy.csv").unlink(missing_ok=True)
    return float(done.stdout)


def run(quick: bool) -> list[Row]:
    from heldout.challenges import build, load_spec

    rows = 100_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="heldout-bench-") as tmp:
        kit = Path(tmp)
        (kit / "challenge.toml").write_text(TOML)
        (kit / "brief.md").write_text("# Benchmark\n")
        generate(rows, kit / "data.csv")
        size_mb = (kit / "data.csv").stat().st_size / 2**20

        import pandas as pd

        spec = load_spec(kit)
        runs = 1 if quick else 3
        ours, baselines, cpus, loads = [], [], [], []
        # Alternate ours and the baseline so both see the same machine (it is shared).
        for run_index in range(runs):
            started = time.perf_counter()
            pd.read_csv(kit / "data.csv").to_csv(kit / "copy.csv", index=False)
            baselines.append(time.perf_counter() - started)
            (kit / "copy.csv").unlink()

            cpu_before = resource.getrusage(resource.RUSAGE_SELF)
            started = time.perf_counter()
            output = build(spec, "bench-secret", kit / f"out{run_index}")
            ours.append(time.perf_counter() - started)
            cpu_after = resource.getrusage(resource.RUSAGE_SELF)
            cpus.append(
                (cpu_after.ru_utime - cpu_before.ru_utime)
                + (cpu_after.ru_stime - cpu_before.ru_stime)
            )
            loads.append(os.getloadavg()[0])
        ours_s, baseline_s = statistics.median(ours), statistics.median(baselines)
        cpu_s, load = statistics.median(cpus), max(loads)
        # What one `heldout challenge build` pays: a process whose memory is all new.
        fresh = [(_fresh("baseline", kit), _fresh("ours", kit)) for _ in range(runs)]
        fresh_baseline_s = statistics.median(b for b, _ in fresh)
        fresh_s = statistics.median(o for _, o in fresh)

    stages = ", ".join(f"{k} {v:.2f}s" for k, v in output.report["seconds"].items())
    return [
        Row(
            "build: rows/s, 20 columns, every transform",
            rows / ours_s,
            rows / baseline_s,
            "rows/s",
            f">= {TARGET_ROWS_PER_S:,}",
            f"{rows:,} rows, {size_mb:.0f} MB CSV, median of {runs}; baseline = pandas "
            f"read_csv+to_csv; last run's stages: {stages}",
        ),
        Row(
            "build: rows/s, first build in a fresh process",
            rows / fresh_s,
            rows / fresh_baseline_s,
            "rows/s",
            "-",
            f"median of {runs}, each build (and baseline) the first in its own process: the "
            "allocator has no memory to reuse yet, as in one `heldout challenge build`",
        ),
        Row(
            "build: rows per CPU-second",
            rows / cpu_s,
            None,
            "rows/CPU-s",
            "-",
            "independent of other work on the machine; times the cores is the ceiling of rows/s",
        ),
        Row(
            "build: seconds",
            ours_s,
            baseline_s,
            "s",
            "-",
            f"{rows:,} rows; {cpu_s:.1f} CPU-seconds in the build; load average up to "
            f"{load:.1f} on {os.cpu_count()} cores (other work on the machine)",
        ),
    ]
