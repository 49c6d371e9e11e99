"""The backend names the workers that own containers, so a reaper can find dead ones."""

from __future__ import annotations

import contextlib
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
