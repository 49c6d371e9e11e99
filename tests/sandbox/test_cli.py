"""`heldout sandbox run` and `build-image`, as scripts call them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.conftest import FILES, assert_host_clean

HELDOUT = str(Path(sys.executable).parent / "heldout")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([HELDOUT, "sandbox", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.docker
def test_run_prints_one_json_object_and_exits_zero_on_success(
    sandbox_image: str, docker_client: Any, tmp_path: Path
) -> None:
    done = _run(
        "run",
        str(FILES / "honest.ipynb"),
        "--data",
        str(FILES / "data"),
        "--out",
        str(tmp_path),
        "--timeout",
        "60",
        "--memory",
        "512",
        "--cpus",
        "1",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    (line,) = done.stdout.splitlines()
    payload = json.loads(line)
    assert payload["status"] == "succeeded"
    assert {"reason", "duration_s", "cell_timings", "image_digest", "notebook_sha256"} <= set(
        payload
    )
    assert payload["predictions"] == str(tmp_path / "predictions.csv")
    assert (tmp_path / "executed.ipynb").is_file()
    assert_host_clean(docker_client, "cli")


def test_run_rejects_an_invalid_notebook_with_exit_one(tmp_path: Path) -> None:
    done = _run(
        "run",
        str(FILES / "invalid_not_json.ipynb"),
        "--data",
        str(FILES / "data"),
        "--out",
        str(tmp_path),
        "--json",
    )
    assert done.returncode == 1
    payload = json.loads(done.stdout)
    assert payload["status"] == "rejected"
    assert "not valid JSON" in payload["reason"]


@pytest.mark.docker
def test_build_image_is_quick_and_prints_the_tag_when_nothing_changed(sandbox_image: str) -> None:
    done = _run("build-image")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == sandbox_image
    assert "up to date" in done.stderr
