"""docker-compose.yml validates with Debian's docker-compose and keeps secrets out of images."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import services

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
REQUIRED = {
    "HELDOUT_SECRET_KEY": "k" * 64,
    "POSTGRES_PASSWORD": "pgsecret",
    "MINIO_ROOT_PASSWORD": "miniosecret",
    "DOCKER_GID": "999",
}


def _project(tmp_path: Path, **values: str) -> Path:
    """A copy of the compose file beside a .env made from .env.example with `values` filled."""
    if shutil.which("docker-compose") is None:
        services.unavailable("docker-compose is not installed (apt-get install docker-compose)")
    shutil.copy(COMPOSE, tmp_path / "docker-compose.yml")
    text = ENV_EXAMPLE.read_text()
    for name, value in values.items():
        text = re.sub(rf"^{name}=.*$", f"{name}={value}", text, flags=re.M)
    (tmp_path / ".env").write_text(text)
    return tmp_path


def _config(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker-compose", "config"], cwd=project, capture_output=True, text=True, check=False
    )


@pytest.fixture
def config(tmp_path: Path) -> dict[str, Any]:
    result = _config(_project(tmp_path, **REQUIRED))
    assert result.returncode == 0, result.stderr
    parsed: dict[str, Any] = yaml.safe_load(result.stdout)
    return parsed


def test_compose_config_validates_with_the_required_values(config: dict[str, Any]) -> None:
    assert set(config["services"]) == {
        "postgres",
        "minio",
        "init",
        "sandbox-image",
        "web",
        "worker",
    }
    assert set(config["volumes"]) == {"postgres-data", "minio-data"}


@pytest.mark.parametrize("missing", sorted(REQUIRED))
def test_compose_refuses_to_start_without_a_secret(tmp_path: Path, missing: str) -> None:
    values = {name: value for name, value in REQUIRED.items() if name != missing}
    result = _config(_project(tmp_path, **values))
    assert result.returncode != 0
    assert f"set {missing} in .env" in result.stderr


def test_services_have_healthchecks_volumes_and_order(config: dict[str, Any]) -> None:
    found = config["services"]
    for name in ("postgres", "minio", "web"):
        assert found[name]["healthcheck"]["test"], name
    assert any("postgresql/data" in str(v) for v in found["postgres"]["volumes"])
    assert any("/data" in str(v) for v in found["minio"]["volumes"])
    assert found["init"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert found["init"]["depends_on"]["minio"]["condition"] == "service_healthy"
    for name in ("web", "worker"):
        assert found[name]["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert found["worker"]["depends_on"]["sandbox-image"]["condition"] == (
        "service_completed_successfully"
    )


def test_web_and_worker_share_one_image_and_settings(config: dict[str, Any]) -> None:
    found = config["services"]
    images = {found[name]["image"] for name in ("init", "sandbox-image", "web", "worker")}
    assert images == {"heldout-platform:latest"}
    web, worker = found["web"]["environment"], found["worker"]["environment"]
    assert web["HELDOUT_DATABASE_URL"] == worker["HELDOUT_DATABASE_URL"]
    assert web["HELDOUT_DATABASE_URL"] == "postgresql://heldout:pgsecret@postgres:5432/heldout"
    assert web["HELDOUT_STORAGE_URL"] == worker["HELDOUT_STORAGE_URL"] == "s3://heldout"
    assert web["HELDOUT_READY_CHECKS"] == "database,storage"  # no engine in the web container
    assert "HELDOUT_READY_CHECKS" not in worker  # the worker's /readyz default checks docker
    assert "gunicorn" in found["web"]["entrypoint"]
    assert found["worker"]["command"][:1] == ["worker"]


def test_only_the_engine_users_get_the_docker_socket(config: dict[str, Any]) -> None:
    for name, service in config["services"].items():
        mounts = [str(v) for v in service.get("volumes", [])]
        has_socket = any("docker.sock" in mount for mount in mounts)
        assert has_socket == (name in ("worker", "sandbox-image")), name
        assert not service.get("privileged"), name


def test_published_ports_default_to_localhost(config: dict[str, Any]) -> None:
    for name in ("web", "minio"):
        for port in config["services"][name]["ports"]:
            published = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
            assert published == "127.0.0.1", (name, port)
    assert "ports" not in config["services"]["postgres"]


def test_every_variable_the_compose_file_reads_is_documented() -> None:
    used = set(re.findall(r"\$\{([A-Z0-9_]+)", COMPOSE.read_text()))
    documented = set(re.findall(r"^([A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), flags=re.M))
    assert used - {"POSTGRES_IMAGE", "MINIO_IMAGE"} <= documented, used - documented


def test_no_secret_is_baked_into_the_image() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    assert not re.search(r"^\s*(ENV|ARG)\b.*(SECRET|PASSWORD|ACCESS_KEY)", dockerfile, re.M)
    ignore = (REPO / ".dockerignore").read_text().splitlines()
    assert "*" in ignore  # the context is closed by default: .env and instance/ never enter
    included = [line.lstrip("!") for line in ignore if line.startswith("!")]
    assert not any(name.startswith((".env", "instance", ".git")) for name in included)
