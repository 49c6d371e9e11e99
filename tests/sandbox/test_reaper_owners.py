"""The backend names the workers that own containers, so a reaper can find dead ones."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import docker.errors
import pytest

from heldout.sandbox import DockerBackend, get_backend, image_tag

pytestmark = pytest.mark.docker


def test_owners_lists_worker_ids_and_reap_removes_one_workers_containers(
    docker_client: Any,
) -> None:
    backend = get_backend("docker", worker="test-owner:1:abcd")
    assert isinstance(backend, DockerBackend)
    labels = {"heldout.sandbox": "1", "heldout.deadline": "9999999999"}
    ghost = docker_client.containers.create(
        image_tag(), command=["true"], labels={**labels, "heldout.worker": "ghost:42:beef"}
    )
    alive = docker_client.containers.create(
        image_tag(), command=["true"], labels={**labels, "heldout.worker": "alive:7:cafe"}
    )
    try:
        assert {"ghost:42:beef", "alive:7:cafe"} <= backend.owners()
        backend.reap(worker="ghost:42:beef")
        assert "ghost:42:beef" not in backend.owners()
        assert "alive:7:cafe" in backend.owners()  # only the named worker's containers go
    finally:
        for container in (ghost, alive):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)


def test_background_removal_leaves_nothing_once_closed(docker_client: Any, tmp_path: Path) -> None:
    from tests.sandbox.conftest import FILES, assert_host_clean

    backend = DockerBackend(worker="bg-removal:1:0", background_removal=True)
    result = backend.run(FILES / "honest.ipynb", FILES / "data", tmp_path / "out")
    assert result.status == "succeeded" and result.predictions_path is not None
    backend.close()  # waits for the removals started in the background
    assert_host_clean(docker_client, backend.worker, result)
