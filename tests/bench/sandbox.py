"""`heldout sandbox run` on a small scikit-learn notebook against nbclient on the bare host.

Both sides are whole processes, timed from the outside, run alternately; medians and ratio.
Ours runs the way a worker does: with a warm pool (`--pool 1`), each container used once.
Before each timed run the previous run's refill is left to finish warming, so neither side is
charged with it; the cold figure (no pool) is reported too. Each is measured under both
container runtimes, runc and gVisor's runsc (the second wall), side by side.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench import Row

RUNTIMES = ("runc", "runsc")  # the engine's default and gVisor
FILES = Path(__file__).resolve().parent.parent / "sandbox" / "files"
HELDOUT = str(Path(sys.executable).parent / "heldout")
BARE = """
import sys, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": sys.argv[2]}}).execute()
nbformat.write(nb, sys.argv[3])
"""


def _timed(cmd: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {done.stdout[-500:]} {done.stderr[-500:]}")
    return elapsed


def _wait_warm(client: Any) -> None:
    """Until every warm container of the CLI has its kernel up (the runner's ready marker)."""
    import docker.errors

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        warm = [
            c
            for c in client.containers.list(filters={"label": "heldout.worker=cli"})
            if c.name.startswith("heldout-warm-")
        ]
        ready = 0
        for container in warm:
            try:
                container.get_archive("/home/sandbox/outbox/ready")
                ready += 1
            except docker.errors.NotFound:
                pass
        if warm and ready == len(warm):
            time.sleep(0.5)
            return
        time.sleep(0.2)
    raise RuntimeError("the warm containers never became ready")


def run(quick: bool) -> list[Row]:
    from heldout.sandbox import DockerBackend, build_image
    from heldout.sandbox.engine import connect

    client = connect()
    build_image(client=client)
    rounds = 3 if quick else 9
    work = Path(tempfile.mkdtemp(prefix="heldout-bench-"))
    try:
        shutil.copy(FILES / "honest.ipynb", work / "honest.ipynb")
        shutil.copytree(FILES / "data", work / "data")
        bare = [
            sys.executable,
            "-c",
            BARE,
            str(work / "honest.ipynb"),
            str(work),
            str(work / "bare-executed.ipynb"),
        ]
        ours = [
            HELDOUT,
            "sandbox",
            "run",
            str(work / "honest.ipynb"),
            "--data",
            str(work / "data"),
            "--out",
            str(work / "out"),
            "--json",
        ]
        _timed(bare)  # warm the host's page cache for both sides
        for runtime in RUNTIMES:
            _timed([*ours, "--runtime", runtime, "--pool", "1"])
        bare_s: list[float] = []
        warm_s: dict[str, list[float]] = {r: [] for r in RUNTIMES}
        cold_s: dict[str, list[float]] = {r: [] for r in RUNTIMES}
        for _ in range(rounds):
            for runtime in RUNTIMES:
                _wait_warm(client)
                warm_s[runtime].append(_timed([*ours, "--runtime", runtime, "--pool", "1"]))
            _wait_warm(client)
            bare_s.append(_timed(bare))
            for runtime in RUNTIMES:
                cold_s[runtime].append(_timed([*ours, "--runtime", runtime]))
    finally:
        DockerBackend(client=client).reap(worker="cli")
        shutil.rmtree(work, ignore_errors=True)
    bare_med = statistics.median(bare_s)
    kinds = (
        ("warm pool (--pool 1)", warm_s, "<= 1.0x bare nbclient", "alternating; bare = nbclient "
         "on the host, no isolation"),
        ("cold container", cold_s, "-", "container created and kernel started inside the run"),
    )  # fmt: skip
    rows = [
        Row(
            f"sandbox run, {kind}, {runtime}",
            statistics.median(times[runtime]),
            bare_med,
            "s",
            target,
            f"median of {rounds}; {note}",
        )
        for kind, times, target, note in kinds
        for runtime in RUNTIMES
    ]
    return rows
