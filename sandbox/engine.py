"""The connection to a Docker engine (local socket or DOCKER_HOST), failing with one clear line."""

from __future__ import annotations

import os
from typing import Any

from heldout.sandbox.errors import SandboxError

DEFAULT_HOST = "unix:///var/run/docker.sock"


def connect(timeout: float = 60.0) -> Any:
    """A docker-py client that has answered a ping; SandboxError if the engine is unreachable."""
    try:
        import docker
        import docker.errors
    except ImportError as exc:  # pragma: no cover - docker is a dependency
        raise SandboxError("the `docker` Python package is missing (pip install docker)") from exc
    host = os.environ.get("DOCKER_HOST") or DEFAULT_HOST
    try:
        client = docker.from_env(timeout=int(timeout))
        client.ping()
    except Exception as exc:
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise SandboxError(
            f"cannot reach the Docker engine at {host}: {detail[:200]}; "
            "start dockerd or set DOCKER_HOST"
        ) from exc
    return client


AUTO = "auto"
GVISOR = "runsc"


def resolve_runtime(client: Any, wanted: str | None) -> str:
    """The container runtime to use: `auto` (or empty) picks gVisor's `runsc` when the engine
    has it registered, else the engine's default; a named runtime must be registered."""
    try:
        info = client.info()
    except Exception as exc:
        raise SandboxError(f"the Docker engine did not say which runtimes it has: {exc}") from exc
    known = set(info.get("Runtimes") or {})
    default = str(info.get("DefaultRuntime") or "runc")
    if not wanted or wanted == AUTO:
        return GVISOR if GVISOR in known else default
    if wanted not in known:
        raise SandboxError(
            f"the Docker engine has no runtime {wanted!r}; it has: {', '.join(sorted(known))}"
            + (" (see docs/deploy.md to register gVisor's runsc)" if wanted == GVISOR else "")
        )
    return wanted
