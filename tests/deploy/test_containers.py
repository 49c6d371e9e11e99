"""The platform image, built offline, runs web and worker containers that grade a submission.

The containers use `--network host` to reach the test PostgreSQL and the moto S3 server on
127.0.0.1; the worker drives this host's engine through the mounted socket, as in compose.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from heldout.platform.config import Config
from heldout.platform.storage import open_storage
from tests import services
from tests.deploy import platform_image
from tests.pipeline.harness import EXAMPLES, Candidate, Installation

pytestmark = [pytest.mark.docker]

SOCKET = "/var/run/docker.sock"
STARTER = (EXAMPLES / "churn" / "starter.ipynb").read_bytes()
METRICS_TOKEN = "metrics-scrape-token"


@pytest.fixture(scope="session")
def image(docker_client: Any) -> str:
    """The platform image, built from Debian packages as on a machine without a registry."""
    try:
        built = platform_image.build(offline=True)
    except (subprocess.CalledProcessError, RuntimeError) as exc:
        services.unavailable(f"the platform image did not build: {exc}")
    return built.tag


@pytest.fixture(scope="session")
def sandbox_image(docker_client: Any) -> str:
    from heldout.sandbox.build import build_image

    return build_image().tag


def test_platform_image_runs_heldout_as_a_non_root_user(image: str) -> None:
    def run(*args: str, entrypoint: str | None = None) -> str:
        cmd = ["docker", "run", "--rm"]
        cmd += ["--entrypoint", entrypoint] if entrypoint else []
        done = subprocess.run([*cmd, image, *args], capture_output=True, text=True, check=True)
        return done.stdout.strip()

    assert run("--version").startswith("heldout, version")
    assert run("-u", entrypoint="id") == "10100"  # not the sandbox notebook uid (10001)
    assert run("--version", entrypoint="python3").startswith("Python 3.11")
    assert "export" in run("--help") and "worker" in run("--help")


class Containers:
    """Containers started by one test, removed at the end (labelled for leftovers)."""

    def __init__(self, image: str, env: dict[str, str]) -> None:
        self.image = image
        self.env = env
        self.names: list[str] = []

    def run(self, role: str, *args: str, extra: list[str] | None = None) -> str:
        name = f"heldout-deploy-test-{role}-{uuid.uuid4().hex[:8]}"
        env_args = [item for key, value in self.env.items() for item in ("-e", f"{key}={value}")]
        subprocess.run(
            [
                "docker",
                "run",
                "-d",
                "--name",
                name,
                "--label",
                "heldout.test=deploy",
                "--network",
                "host",
                *env_args,
                *(extra or []),
                self.image,
                *args,
            ],
            check=True,
            capture_output=True,
        )
        self.names.append(name)
        return name

    def logs(self, name: str) -> str:
        done = subprocess.run(["docker", "logs", name], capture_output=True, text=True, check=False)
        return done.stdout + done.stderr

    def remove(self) -> None:
        for name in self.names:
            # SIGTERM first: the worker drains its warm sandbox containers on the way out.
            subprocess.run(["docker", "stop", "-t", "60", name], capture_output=True, check=False)
            print(f"--- {name}\n{self.logs(name)[-4000:]}")
            subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)


@pytest.fixture
def deployment(
    image: str,
    sandbox_image: str,
    postgres_server: services.PostgresServer,
    s3_server: services.S3Server,
    tmp_path: Path,
) -> Iterator[tuple[Containers, Installation, str]]:
    database = postgres_server.create_database(f"deploy_{uuid.uuid4().hex[:10]}")
    port = services.free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "HELDOUT_DATABASE_URL": database.replace("postgresql+psycopg://", "postgresql://"),
        "HELDOUT_STORAGE_URL": f"s3://deploy-{uuid.uuid4().hex[:8]}",
        "HELDOUT_S3_ENDPOINT": s3_server.endpoint,
        "HELDOUT_S3_ACCESS_KEY": "testing",
        "HELDOUT_S3_SECRET_KEY": "testing",
        "HELDOUT_SECRET_KEY": "deploy-test",
        "HELDOUT_BASE_URL": base,
        "HELDOUT_LOG_FORMAT": "json",
        "HELDOUT_LEASE_SECONDS": "10",
    }
    # What the compose `init` one-shot does: the schema and the bucket, before anything starts.
    open_storage(Config.from_env(env)).check()
    admin = Installation(tmp_path / "admin", database, **{**env, "HELDOUT_DATABASE_URL": database})
    containers = Containers(image, env)
    try:
        yield containers, admin, base
    finally:
        containers.remove()


@pytest.mark.postgres
@pytest.mark.s3
def test_web_and_worker_containers_grade_a_submission(
    deployment: tuple[Containers, Installation, str],
) -> None:
    containers, admin, base = deployment
    slug = build(admin)  # the admin's CLI, on the same database and bucket
    token = admin.invite(slug, "ada@example.com")

    port = base.rsplit(":", 1)[1]
    web = containers.run(
        "web",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "1",
        "--threads",
        "4",
        "--logger-class",
        "heldout.platform.logging.GunicornLogger",
        "--access-logfile",
        "-",
        "heldout.platform.app:create_app()",
        extra=[
            "--entrypoint",
            "gunicorn",
            "-e",
            "HELDOUT_READY_CHECKS=database,storage",
            "-e",
            f"HELDOUT_METRICS_TOKEN={METRICS_TOKEN}",
        ],
    )
    gid = str(os.stat(SOCKET).st_gid)
    containers.run(
        "worker",
        "worker",
        "--concurrency",
        "1",
        extra=["-v", f"{SOCKET}:{SOCKET}", "--group-add", gid],
    )
    services.wait_for(lambda: _ready(base), timeout=90)

    me = Candidate(base, token)
    submitted = me.submit(STARTER)
    assert submitted.status_code == 202, submitted.text
    scored = me.wait(submitted.json()["id"], timeout=300)
    assert scored["status"] == "scored", scored
    assert 0.0 <= scored["public_score"] <= 1.0

    ready = requests.get(f"{base}/readyz", timeout=10).json()
    assert set(ready["checks"]) == {"database", "storage"}
    bearer = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    metrics = requests.get(f"{base}/metrics", headers=bearer, timeout=10).text
    assert "heldout_queue_depth 0.0" in metrics
    assert 'heldout_submissions{status="scored"} 1.0' in metrics
    assert 'heldout_run_duration_seconds_count{status="succeeded"} 1.0' in metrics
    access = [json.loads(line) for line in containers.logs(web).splitlines() if line[:1] == "{"]
    assert any("/api/v1/submissions" in entry["message"] for entry in access)


def build(site: Installation, kit: str = "churn") -> str:
    """Build and publish an example kit."""
    slug: str = site.build(kit)["slug"]
    return slug


def _ready(base: str) -> bool:
    try:
        return requests.get(f"{base}/readyz", timeout=10).status_code == 200
    except requests.RequestException:  # refused while booting, slow on the first request
        return False
