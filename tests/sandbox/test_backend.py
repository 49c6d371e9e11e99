"""The backend API: registry, fake, limits, rejection, infrastructure errors, pool, reaper."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from heldout.sandbox import (
    BACKENDS,
    DockerBackend,
    FakeBackend,
    Limits,
    RunResult,
    SandboxError,
    get_backend,
    image_tag,
)
from heldout.sandbox.build import IMAGE_REPO, build_image
from tests.sandbox.conftest import FILES, SMALL, assert_host_clean


def test_registry_names_docker_and_unknown_names_list_the_choices() -> None:
    assert BACKENDS["docker"] is DockerBackend
    assert isinstance(get_backend("docker"), DockerBackend)
    with pytest.raises(
        SandboxError, match="unknown sandbox backend 'podman'; choose one of: docker"
    ):
        get_backend("podman")


def test_fake_backend_calls_the_handler_and_records_the_call(tmp_path: Path) -> None:
    def handler(notebook: Path, data: Path, out: Path, limits: Limits) -> RunResult:
        return RunResult("timed_out", f"{notebook.name} {limits.timeout_s:g}")

    fake = FakeBackend(handler)
    result = fake.run(
        tmp_path / "a.ipynb",
        tmp_path,
        tmp_path,
        Limits(timeout_s=5),
        labels={"heldout.submission": "12"},
    )
    assert (result.status, result.reason) == ("timed_out", "a.ipynb 5")
    assert fake.calls[0]["labels"] == {"heldout.submission": "12"}
    assert result.to_json()["status"] == "timed_out"


def test_limits_must_be_positive() -> None:
    with pytest.raises(SandboxError, match="memory_mb"):
        Limits(memory_mb=0)
    with pytest.raises(SandboxError, match="pids"):
        Limits(pids=4)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("invalid_not_json", "not valid JSON"),
        ("invalid_not_notebook", "JSON but not a Jupyter notebook"),
        ("invalid_schema", "does not match the Jupyter notebook schema"),
        ("invalid_no_code", "no code to run"),
    ],
)
def test_invalid_notebooks_are_rejected_before_any_container(
    name: str, message: str, tmp_path: Path
) -> None:
    # An image that does not exist and an engine that is not there: rejection needs neither.
    backend = DockerBackend(image="heldout-sandbox:does-not-exist", client=object())
    result = backend.run(FILES / f"{name}.ipynb", FILES / "data", tmp_path / "out")
    assert result.status == "rejected"
    assert message in result.reason
    assert len(result.notebook_sha256) == 64


def test_too_large_notebook_is_rejected(tmp_path: Path) -> None:
    book = json.loads((FILES / "honest.ipynb").read_text())
    book["cells"][0]["outputs"] = [
        {"output_type": "stream", "name": "stdout", "text": "x" * (2 * 2**20)}
    ]
    path = tmp_path / "big.ipynb"
    path.write_text(json.dumps(book))
    backend = DockerBackend(max_notebook_mb=1, client=object())
    result = backend.run(path, FILES / "data", tmp_path / "out")
    assert result.status == "rejected"
    assert "the limit is 1 MB" in result.reason


def test_unreachable_engine_raises_one_clear_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    with pytest.raises(SandboxError) as caught:
        DockerBackend().run(FILES / "honest.ipynb", FILES / "data", tmp_path / "out")
    message = str(caught.value)
    assert message.startswith(f"cannot reach the Docker engine at unix://{tmp_path}/no.sock")
    assert message.endswith("start dockerd or set DOCKER_HOST")
    assert "\n" not in message


def test_image_tag_is_a_content_hash_and_can_be_overridden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tag = image_tag()
    assert tag.startswith(f"{IMAGE_REPO}:") and len(tag.split(":")[1]) == 16
    monkeypatch.setenv("HELDOUT_SANDBOX_IMAGE", "mine:1")
    assert image_tag() == "mine:1"
    monkeypatch.setenv("HELDOUT_SANDBOX_IMAGE", "")
    assert image_tag() == tag


@pytest.mark.docker
def test_missing_image_raises(docker_client: Any, tmp_path: Path) -> None:
    backend = DockerBackend(image="heldout-sandbox:does-not-exist", client=docker_client)
    with pytest.raises(SandboxError, match="is missing; run `heldout sandbox build-image`"):
        backend.run(FILES / "honest.ipynb", FILES / "data", tmp_path / "out")


@pytest.mark.docker
def test_build_image_is_idempotent(sandbox_image: str, docker_client: Any) -> None:
    again = build_image(client=docker_client)
    assert (again.tag, again.built, again.mode) == (sandbox_image, False, "cached")


@pytest.mark.docker
def test_warm_pool_runs_each_notebook_in_its_own_container(
    sandbox_image: str, docker_client: Any, tmp_path: Path
) -> None:
    backend = DockerBackend(worker=f"test-pool-{time.time_ns()}", pool_size=1, client=docker_client)
    try:
        first = backend.run(FILES / "honest.ipynb", FILES / "data", tmp_path / "a", Limits(**SMALL))
        backend.pool.wait()
        second = backend.run(
            FILES / "honest.ipynb", FILES / "data", tmp_path / "b", Limits(**SMALL)
        )
        backend.pool.wait()
        assert (first.status, second.status) == ("succeeded", "succeeded")
        assert first.container != second.container
        assert (first.warm, second.warm) == (False, True)
    finally:
        backend.close()
    assert_host_clean(docker_client, backend.worker)


@pytest.mark.docker
def test_reaper_removes_leftovers_of_a_dead_worker(sandbox_image: str, docker_client: Any) -> None:
    backend = DockerBackend(worker=f"test-reap-{time.time_ns()}", client=docker_client)
    # a crashed worker leaves a started container behind
    left = backend.prepare(
        sandbox_image, Limits(**SMALL), 0, {"heldout.submission": "12"}, warm=False
    ).container
    assert left.labels["heldout.submission"] == "12"
    assert left.id not in DockerBackend(client=docker_client).reap()  # before its deadline
    assert DockerBackend(client=docker_client).reap(worker=backend.worker) == [left.id]
    assert_host_clean(docker_client, backend.worker)


@pytest.mark.docker
def test_containers_are_hardened_by_default(
    sandbox_image: str, docker_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HELDOUT_SECRET_KEY", "heldout-secret-key")
    backend = DockerBackend(worker=f"test-harden-{time.time_ns()}", client=docker_client)
    limits = Limits(memory_mb=300, cpus=0.5, pids=77, nofile=99, disk_mb=20, tmp_mb=10)
    container = backend.prepare(
        sandbox_image, limits, 0, {"heldout.worker": backend.worker}, warm=False
    ).container
    try:
        container.reload()
        host = container.attrs["HostConfig"]
        config = container.attrs["Config"]
        assert host["NetworkMode"] == "none"
        assert host["ReadonlyRootfs"] is True
        assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
        assert host["SecurityOpt"] == ["no-new-privileges"]  # seccomp stays Docker's default
        assert host["Privileged"] is False
        assert host["Memory"] == host["MemorySwap"] == 300 * 2**20
        assert host["CpuQuota"] * 2 == host["CpuPeriod"]
        assert host["PidsLimit"] == 77 * 4 + 128  # runsc: gVisor's own tasks count too
        assert {"Name": "nofile", "Soft": 99, "Hard": 99} in host["Ulimits"]
        assert host["Tmpfs"] == {"/tmp": "size=10m,mode=1777,nosuid,nodev"}
        assert host["Binds"] in (None, [])  # nothing of the host is mounted
        assert all(m["Type"] == "volume" for m in container.attrs["Mounts"])
        assert host["LogConfig"]["Type"] == "none"
        assert host["Runtime"] == "runsc"  # auto: gVisor, since make test registers it
        # the runner's uid; the kernel (the notebook's code) runs as 10001 beside it
        assert config["User"] == "10002:10002"
        kernels = [docker_client.api.exec_inspect(e) for e in container.attrs["ExecIDs"]]
        assert [k["ProcessConfig"]["user"] for k in kernels] == ["10001:10001"]
        assert not any("SECRET" in e or e.startswith("HELDOUT_S") for e in config["Env"])
        assert config["Labels"]["heldout.sandbox"] == "1"
        assert float(config["Labels"]["heldout.deadline"]) > time.time()
    finally:
        backend.reap(worker=backend.worker)
    assert_host_clean(docker_client, backend.worker)


def test_a_notebook_of_an_unknown_format_version_gets_the_true_reason() -> None:
    from heldout.sandbox.notebook import Rejected, check_notebook_bytes

    with pytest.raises(Rejected, match="format version 5; versions 3 and 4 can be read"):
        check_notebook_bytes(b'{"nbformat": 5, "cells": []}')
    with pytest.raises(Rejected, match="version 3 notebook but has no `worksheets`"):
        check_notebook_bytes(b'{"nbformat": 3, "cells": []}')
    assert check_notebook_bytes((FILES / "version3.ipynb").read_bytes())["nbformat"] == 3
