"""The sandbox: hardened execution of untrusted notebooks.

    backend = get_backend("docker")
    result = backend.run(notebook=nb, data_dir=data, out_dir=out, limits=Limits(timeout_s=600))

A notebook's outcome is a RunResult (succeeded, failed, timed_out, out_of_memory, rejected);
only infrastructure failures (engine down, image missing) raise SandboxError.
"""

from __future__ import annotations

from typing import Any

from heldout.sandbox.backend import Backend, FakeBackend
from heldout.sandbox.build import BuildResult, build_image, image_tag
from heldout.sandbox.docker import DockerBackend
from heldout.sandbox.errors import SandboxError
from heldout.sandbox.limits import Limits
from heldout.sandbox.result import STATUSES, RunResult

BACKENDS: dict[str, type[Backend]] = {"docker": DockerBackend}


def get_backend(name: str = "docker", **options: Any) -> Backend:
    """The backend registered under `name`, built with `options`; SandboxError lists the names."""
    try:
        cls = BACKENDS[name]
    except KeyError:
        raise SandboxError(
            f"unknown sandbox backend {name!r}; choose one of: {', '.join(sorted(BACKENDS))}"
        ) from None
    return cls(**options)


__all__ = [
    "BACKENDS",
    "STATUSES",
    "Backend",
    "BuildResult",
    "DockerBackend",
    "FakeBackend",
    "Limits",
    "RunResult",
    "SandboxError",
    "build_image",
    "get_backend",
    "image_tag",
]
