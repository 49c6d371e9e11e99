"""The run protocol against a hostile notebook: one container per run, nothing forged counts."""

from __future__ import annotations

import json
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from heldout.sandbox import DockerBackend, Limits, RunResult
from tests.sandbox.conftest import FILES, SMALL, assert_host_clean
from tests.sandbox.test_attacks import Run, _csv, _outputs

pytestmark = pytest.mark.docker


def _notebook(path: Path, *cells: str) -> Path:
    path.write_text(
        json.dumps(
            {
                "cells": [
                    {
                        "cell_type": "code",
                        "execution_count": None,
                        "id": f"c{i}",
                        "metadata": {},
                        "outputs": [],
                        "source": source,
                    }
                    for i, source in enumerate(cells)
                ],
                "metadata": {},
                "nbformat": 4,
                "nbformat_minor": 5,
            }
        )
    )
    return path


def test_a_forged_report_and_done_line_change_nothing(run: Run) -> None:
    result = run("forge_report", timeout_s=30)
    # the notebook's own honest result, not the forged "error" (a free platform re-run)
    assert result.status == "succeeded", result.reason
    assert _csv(result.predictions_path) == {"7": "1"}
    printed = "".join(_outputs(result))
    assert printed.startswith("False [")  # the runner's outbox refused every write
    assert "/home/sandbox/outbox" not in printed.splitlines()[0]
    assert "own fds only: True\n" in printed  # no fd of the runner or of tini opened


def test_a_done_line_printed_by_the_notebook_does_not_end_the_run(run: Run) -> None:
    started = time.monotonic()
    result = run("forge_done_then_sleep", timeout_s=4, grace_s=2)
    assert result.status == "timed_out", result.reason
    assert time.monotonic() - started >= 4


def test_predictions_rewritten_after_the_last_cell_are_not_collected(
    backend: DockerBackend, tmp_path: Path
) -> None:
    # a detached process keeps rewriting predictions.csv: what the host copies is not what the
    # runner hashed after the last cell, so it is not this run's result
    writer = (
        "import itertools\n"
        "for n in itertools.count():\n"
        "    open('predictions.csv', 'w').write(f'id,label\\n{n},1\\n')\n"
    )
    notebook = _notebook(
        tmp_path / "nb.ipynb",
        f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', {writer!r}], "
        "start_new_session=True)\nimport time\ntime.sleep(0.5)",
    )
    result = backend.run(notebook, FILES / "data", tmp_path / "out", Limits(**SMALL))
    assert result.status == "succeeded", result.reason
    changed = any("changed after the notebook's last cell" in n for n in result.notes)
    # Almost always the writer changed the file between the runner's hash and the host's
    # pause; on a starved machine it may not have run in that gap, and then the copy is the
    # very file the runner hashed. Either way no file but the hashed one is ever collected
    # (test_only_the_file_the_runner_hashed_is_kept checks the rule itself).
    assert (result.predictions_path is None) == changed, result.notes


def test_only_the_file_the_runner_hashed_is_kept(tmp_path: Path) -> None:
    from heldout.sandbox.docker import _bind_predictions
    from heldout.sandbox.notebook import file_sha256

    collected = tmp_path / "predictions.csv"
    collected.write_text("id,label\n1,1\n")
    hashed = file_sha256(collected)
    assert _bind_predictions(collected, {"predictions_sha256": hashed}) is None
    assert collected.is_file()  # the one the runner saw: kept
    note = _bind_predictions(collected, {"predictions_sha256": "0" * 64})
    assert note is not None and "changed after the notebook's last cell" in note
    assert not collected.exists()  # rewritten afterwards: dropped
    collected.write_text("id,label\n1,1\n")
    assert _bind_predictions(collected, None) is None and not collected.exists()  # no report
    collected.write_text("id,label\n1,1\n")
    _bind_predictions(collected, {"predictions_sha256": None})  # none at the end: not kept
    assert not collected.exists()


def test_input_fails_at_once_with_a_sentence(run: Run) -> None:
    started = time.monotonic()
    result = run("asks_input", timeout_s=60)
    assert time.monotonic() - started < 30  # not the deadline
    assert result.status == "failed"
    assert result.failure is not None and result.failure["cell"] == 2
    assert result.failure["ename"] == "StdinNotImplementedError"
    assert "nobody can type into a sandbox run" in result.reason


def test_a_warm_container_is_claimed_by_one_run_only(
    sandbox_image: str, docker_client: Any
) -> None:
    backend = DockerBackend(
        worker=f"test-claim-{uuid.uuid4().hex[:8]}", client=docker_client, pool_size=1,
        runtime="runc",
    )  # fmt: skip
    limits = Limits(**SMALL)
    try:
        backend.pool.refill(sandbox_image, limits)
        backend.pool.wait()
        barrier = threading.Barrier(4)
        claimed: list[Any] = []

        def claim() -> None:
            barrier.wait()
            prepared = backend.pool.claim(sandbox_image, limits, 0, None)
            if prepared is not None:
                claimed.append(prepared.container.id)

        threads = [threading.Thread(target=claim) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(claimed) == 1
    finally:
        backend.reap(worker=backend.worker, everything=False)
        backend.close()
    assert_host_clean(docker_client, backend.worker)


def test_concurrent_warm_runs_each_get_their_own_result(
    sandbox_image: str, docker_client: Any, tmp_path: Path, runtime: str
) -> None:
    """Two slots of one worker, warm containers: every result is the one only its notebook makes."""
    backend = DockerBackend(
        worker=f"test-conc-{uuid.uuid4().hex[:8]}", client=docker_client, pool_size=2,
        runtime=runtime,
    )  # fmt: skip
    results: dict[int, RunResult] = {}
    runs = 8
    # what is tested is whose result each run gets, not speed: on a loaded 2-core machine eight
    # kernels starting in pairs took more than SMALL's 10 s deadline
    limits = Limits(**{**SMALL, "timeout_s": 120.0})

    def go(index: int) -> None:
        cells = [f"print('marker-{index}')"] + [f"x = {n}" for n in range(index % 3)]
        cells.append(f"open('predictions.csv', 'w').write('id,label\\n{index},{index}\\n')")
        notebook = _notebook(tmp_path / f"nb{index}.ipynb", *cells)
        results[index] = backend.run(notebook, FILES / "data", tmp_path / f"out{index}", limits)

    try:
        backend.pool.refill(sandbox_image, limits)
        backend.pool.wait()
        for pair in range(0, runs, 2):
            threads = [threading.Thread(target=go, args=(i,)) for i in (pair, pair + 1)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        backend.close()
    assert sorted(results) == list(range(runs))
    assert sum(r.warm for r in results.values()) >= 2  # the warm pool was exercised
    for index, result in results.items():
        assert result.status == "succeeded", result.reason
        assert _csv(result.predictions_path) == {str(index): str(index)}
        assert len(result.cell_timings) == 2 + index % 3
        assert _outputs(result)[0] == f"marker-{index}\n"
        assert result.runtime == runtime
    assert len({r.container for r in results.values()}) == runs
    assert_host_clean(docker_client, backend.worker)
