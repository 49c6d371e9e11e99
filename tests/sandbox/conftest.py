"""Fixtures for the sandbox: the image, a backend with its own worker id, and host checks."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from heldout.sandbox import DockerBackend, Limits, RunResult, build_image

FILES = Path(__file__).parent / "files"
# Small limits keep the attack tests quick on a 2-core machine.
SMALL: dict[str, Any] = {
    "timeout_s": 10.0,
    "memory_mb": 256,
    "pids": 64,
    "disk_mb": 32,
    "tmp_mb": 32,
}


@pytest.fixture(scope="session")
def sandbox_image(docker_client: Any) -> str:
    """The runtime image (built here if `make image` has not built it yet: minutes)."""
    return build_image(client=docker_client).tag


# Every attack runs under both runtimes: runc (the engine's default) and gVisor's runsc, the
# second wall. `make test` registers runsc with the engine; a missing one fails, not skips.
RUNTIMES = ("runc", "runsc")


@pytest.fixture(scope="session", params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def backend(sandbox_image: str, docker_client: Any, runtime: str) -> Iterator[DockerBackend]:
    sandbox = DockerBackend(
        worker=f"test-{runtime}-{uuid.uuid4().hex[:8]}", client=docker_client, runtime=runtime
    )
    yield sandbox
    sandbox.reap(worker=sandbox.worker)


def assert_host_clean(docker_client: Any, worker: str, result: RunResult | None = None) -> None:
    """No container or volume of this worker left, no process of the run's container alive."""
    label = f"heldout.worker={worker}"
    assert docker_client.containers.list(all=True, filters={"label": label}) == []
    assert docker_client.volumes.list(filters={"label": label}) == []
    if result is not None and result.container:
        # gVisor's sentry and gofer may take a moment to exit after the engine removed the
        # container: a process still there after 10 s has outlived the run
        deadline = time.monotonic() + 10
        while True:
            alive = [p.parent.name for p in Path("/proc").glob("[0-9]*/cgroup") if _in(p, result)]
            if not alive or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert not alive, f"process {alive[0]} outlived the run"


def _in(cgroup: Path, result: RunResult) -> bool:
    try:
        return result.container in cgroup.read_text()
    except OSError:
        return False  # the process ended while we looked


@pytest.fixture
def run(backend: DockerBackend, docker_client: Any, tmp_path: Path) -> Callable[..., RunResult]:
    """Run a golden notebook by name with small limits, then check the host is clean."""

    def go(name: str, data: Path | None = None, **limits: Any) -> RunResult:
        before = set(Path("/tmp").glob("heldout-*"))
        out = tmp_path / "out"
        result = backend.run(
            FILES / f"{name}.ipynb", data or FILES / "data", out, Limits(**{**SMALL, **limits})
        )
        assert_host_clean(docker_client, backend.worker, result)
        assert set(Path("/tmp").glob("heldout-fetch-*")) <= before
        assert not list(out.glob("*.partial"))
        return result

    return go


@pytest.fixture
def data_copy(tmp_path: Path) -> Path:
    """A private copy of the golden data that a test may add files to."""
    target = tmp_path / "data"
    shutil.copytree(FILES / "data", target)
    return target
