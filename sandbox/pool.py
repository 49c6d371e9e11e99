"""Warm containers: started ahead with the kernel up, each claimed by exactly one run.

A warm container has run nothing of anyone's: its kernel is up and its runner waits for inputs.
A run claims it under the pool's lock, which also records it as taken: the engine's rename is
not a compare-and-swap (two renames of one container both succeed), so the claim must be
decided here. Warm containers are keyed by worker id, so no other process ever claims them.
The claim renames it (its name carries the run's deadline for the reaper), tightens its memory
and CPU to the run's limits, then the run drives it as usual. It is removed after that one
run, like every container.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from heldout.sandbox.limits import MB, Limits

if TYPE_CHECKING:
    from heldout.sandbox.backend import Labels
    from heldout.sandbox.docker import DockerBackend, Prepared

RUN_PREFIX = "heldout-run-"
WARM_PREFIX = "heldout-warm-"
_RUN_NAME = re.compile(r"^/?heldout-run-[0-9a-f]+-until-(\d+)$")


def run_name(deadline: float) -> str:
    """A claimed container's name carries its deadline: labels cannot change after create."""
    return f"{RUN_PREFIX}{uuid.uuid4().hex[:12]}-until-{int(deadline)}"


def deadline_of(container: Any) -> float:
    """When a container must be gone: from its run name, else its deadline label."""
    match = _RUN_NAME.match(getattr(container, "name", "") or "")
    if match:
        return float(match.group(1))
    labels = container.attrs.get("Labels") or container.attrs.get("Config", {}).get("Labels") or {}
    try:
        return float(labels.get("heldout.deadline", "0"))
    except ValueError:
        return 0.0


class WarmPool:
    """Keeps `size` warm containers per limits key; `claim` takes one, `refill` starts more."""

    LABEL = "heldout.pool"

    def __init__(self, backend: DockerBackend, size: int, ttl_s: float = 3600.0) -> None:
        self.backend = backend
        self.size = size
        self.ttl_s = ttl_s
        self.data_mb = 2048  # room for the data in a warm container's data volume (a cap only)
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._taken: set[str] = set()  # ids claimed by a run of this process: never again
        self._kernels: dict[str, str] = {}  # container id -> its kernel's exec id

    def key(self, image: str, limits: Limits) -> str:
        """Warm containers fit a run whose fixed settings (all but memory and CPU) match.

        The worker id is part of it: a run never takes another worker's warm container, so
        reaping a dead worker's containers cannot remove a run of a live one.
        """
        fixed = (
            self.backend.worker,
            image,
            limits.pids,
            limits.nofile,
            limits.disk_mb,
            limits.tmp_mb,
            max(1, int(limits.cpus + 0.999)),
            self.backend.preimport,
            self.data_mb,
            self.backend.runtime,
        )
        return hashlib.sha256(repr(fixed).encode()).hexdigest()[:16]

    def _warm(self, image: str, limits: Limits) -> list[Any]:
        client = self.backend.client
        found = client.containers.list(
            filters={"label": [f"{self.LABEL}={self.key(image, limits)}"], "status": "running"},
            ignore_removed=True,  # removed between the list and its inspect: not warm any more
        )
        # claimed ones keep the label but were renamed
        return [c for c in found if (c.name or "").lstrip("/").startswith(WARM_PREFIX)]

    def claim(
        self, image: str, limits: Limits, data_bytes: int, labels: Labels | None
    ) -> Prepared | None:
        """A warm container renamed for this run, with the run's memory and CPU; or None."""
        import docker.errors

        from heldout.sandbox.docker import STARTUP_S, Prepared

        if not self.size or data_bytes > self.data_mb * MB * 0.95:
            return None
        with self._lock:
            warm = self._warm(image, limits)
            self._taken &= {c.id for c in warm}  # a claimed one is renamed: no longer listed
            free = [c for c in warm if c.id not in self._taken]
            if not free:
                return None
            container = free[0]
            self._taken.add(container.id)
        deadline = time.time() + STARTUP_S + limits.timeout_s
        try:
            container.rename(run_name(deadline))
        except docker.errors.APIError:
            self.backend.remove(container)  # gone or broken: start cold instead
            return None
        host = container.attrs.get("HostConfig") or {}
        wanted = (limits.memory_mb * MB, int(limits.cpus * 100_000))
        try:
            # Only when the run's memory or CPU differ from the warm container's: gVisor's
            # runsc cannot update a running sandbox's resources, and the refill made it with
            # the limits of the run before (usually the same challenge's).
            if (host.get("Memory"), host.get("CpuQuota")) != wanted:
                container.update(
                    mem_limit=f"{limits.memory_mb}m",
                    memswap_limit=f"{limits.memory_mb}m",
                    cpu_period=100_000,
                    cpu_quota=wanted[1],
                )
        except docker.errors.APIError:
            # e.g. the idle kernel already uses more than the run may: start cold instead
            self.backend.remove(container)
            return None
        with self._lock:
            kernel = self._kernels.pop(container.id, "")
        return Prepared(container, None, kernel)

    def refill(self, image: str, limits: Limits) -> None:
        """Start warm containers in the background until `size` wait for this key."""
        if not self.size:
            return
        self._threads = [t for t in self._threads if t.is_alive()]
        thread = threading.Thread(target=self._fill, args=(image, limits), daemon=False)
        thread.start()
        self._threads.append(thread)

    def _fill(self, image: str, limits: Limits) -> None:
        with contextlib.suppress(Exception):  # a warm container is an optimisation only
            for _ in range(self.size - len(self._warm(image, limits))):
                prepared = self.backend.prepare(
                    image, limits, 0, None, warm=True, name=f"{WARM_PREFIX}{uuid.uuid4().hex[:12]}"
                )
                with self._lock:
                    self._kernels[prepared.container.id] = prepared.kernel

    def wait(self) -> None:
        """Block until background refills have started their containers."""
        for thread in self._threads:
            thread.join()

    def drain(self) -> None:
        """Remove this backend's warm containers (on close)."""
        self.wait()
        if not self.size or not self.backend.connected:
            return
        for container in self.backend.client.containers.list(
            all=True,
            filters={"label": [self.LABEL, f"heldout.worker={self.backend.worker}"]},
            ignore_removed=True,
        ):
            self.backend.remove(container)
