"""The Docker backend: one fresh, hardened container per notebook, driven from outside."""

from __future__ import annotations

import contextlib
import json
import math
import os
import secrets
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from heldout.sandbox import archive
from heldout.sandbox.backend import Backend, Labels
from heldout.sandbox.build import image_tag
from heldout.sandbox.engine import connect, resolve_runtime
from heldout.sandbox.errors import SandboxError
from heldout.sandbox.limits import MB, Limits
from heldout.sandbox.notebook import (
    UPGRADED,
    Rejected,
    check_notebook,
    data_files,
    dir_sha256,
    file_sha256,
)
from heldout.sandbox.outcome import outcome
from heldout.sandbox.pool import WarmPool, run_name
from heldout.sandbox.result import RunResult

WORK = "/home/sandbox/work"
OUTBOX = "/home/sandbox/outbox"
DONE = b"HELDOUT-DONE "
# The notebook's user: not 0, and no account on a typical host (uid 1000 often is one), so a
# process that escaped the container's namespaces would own nothing there.
UID = 10001
# The runner's user: another uid than the notebook's, so the candidate's code cannot write the
# runner's outbox and report, signal or trace it, or open its stdout (the done line's channel).
RUNNER_UID = 10002
KERNEL_CMD = ["python", "/opt/heldout/kernel.py"]
REPORT_MB = 4
CONTAINER_TMP = "/tmp"  # noqa: S108  (the container's own /tmp, a size-capped tmpfs)
LABEL = "heldout.sandbox"
DEADLINE_LABEL = "heldout.deadline"
WORKER_LABEL = "heldout.worker"
STARTUP_S = 120.0  # a container's deadline label allows this much before the first cell
# Modules imported by a warm kernel before the notebook arrives (only with a pool, see README).
DEFAULT_PREIMPORT = ("numpy", "pandas", "sklearn")


@dataclass
class Prepared:
    """A container that runs the runner and waits for its inputs, with its attach socket."""

    container: Any
    sock: Any
    kernel: str = ""  # the id of the kernel's `docker exec`, to ask the engine how it ended


class DockerBackend(Backend):
    """Runs notebooks in containers of the runtime image on the engine at DOCKER_HOST."""

    name = "docker"

    def __init__(
        self,
        image: str | None = None,
        worker: str = "",
        pool_size: int = 0,
        preimport: tuple[str, ...] = DEFAULT_PREIMPORT,
        max_notebook_mb: int = 20,
        client: Any = None,
        background_removal: bool = False,
        runtime: str | None = None,
    ) -> None:
        self.image = image
        self._runtime_wanted = runtime
        self._runtime: str | None = None
        self.worker = worker or f"pid-{os.getpid()}"
        self.max_notebook_mb = max_notebook_mb
        self.preimport = preimport if pool_size else ()
        self._client = client
        self._lock = threading.Lock()
        self.pool = WarmPool(self, pool_size)
        self.background_removal = background_removal
        self._removals: list[threading.Thread] = []

    # ------------------------------------------------------------------ engine

    @property
    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = connect()
            return self._client

    @property
    def runtime(self) -> str:
        """The container runtime runs use (`runsc` is gVisor), resolved once from the engine."""
        if self._runtime is None:
            self._runtime = resolve_runtime(self.client, self._runtime_wanted)
        return self._runtime

    def image_ref(self) -> tuple[str, str]:
        """The image name and its id (the digest recorded with every run)."""
        import docker.errors

        name = self.image or image_tag()
        try:
            image = self.client.images.get(name)
        except docker.errors.ImageNotFound:
            raise SandboxError(
                f"the sandbox image {name} is missing; run `heldout sandbox build-image`"
            ) from None
        except docker.errors.APIError as exc:
            raise SandboxError(f"the Docker engine failed to look up {name}: {exc}") from exc
        return name, str(image.id)

    # ------------------------------------------------------------------ run

    def run(
        self,
        notebook: Path,
        data_dir: Path,
        out_dir: Path,
        limits: Limits | None = None,
        labels: Labels | None = None,
    ) -> RunResult:
        limits = limits or Limits()
        started = time.monotonic()
        notebook_sha = file_sha256(notebook) if notebook.is_file() else ""
        try:
            checked = check_notebook(notebook, self.max_notebook_mb)
        except Rejected as exc:
            return RunResult(
                "rejected", str(exc), time.monotonic() - started, notebook_sha256=notebook_sha
            )
        if not data_dir.is_dir():
            raise SandboxError(f"the data directory {data_dir} does not exist")
        out_dir.mkdir(parents=True, exist_ok=True)
        for stale in ("executed.ipynb", "predictions.csv"):
            (out_dir / stale).unlink(missing_ok=True)
        # what the data takes on tmpfs: whole pages per file, plus one for its inode and name
        data_bytes = sum(-(-p.stat().st_size // 4096) * 4096 + 4096 for p in data_files(data_dir))
        name, digest = self.image_ref()
        base = RunResult(
            "failed",
            "",
            image_digest=digest,
            notebook_sha256=notebook_sha,
            data_sha256=dir_sha256(data_dir),
        )
        import docker.errors
        import requests

        prepared: Prepared | None = None
        try:
            prepared = self.pool.claim(name, limits, data_bytes, labels)
            if prepared is None:
                prepared = self.prepare(name, limits, data_bytes, labels, warm=False)
            self.pool.refill(name, limits)
            upgraded = checked.get("nbformat") == 3
            return self._drive(
                prepared, notebook, data_dir, out_dir, limits, base, started, upgraded
            )
        except (docker.errors.DockerException, requests.RequestException) as exc:
            detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            raise SandboxError(f"the Docker engine failed during the run: {detail}") from exc
        finally:
            if prepared is not None:
                self._dispose(prepared.container)

    def prepare(
        self,
        image: str,
        limits: Limits,
        data_bytes: int,
        labels: Labels | None,
        warm: bool,
        name: str | None = None,
    ) -> Prepared:
        """Create and start a hardened container whose runner waits for its inputs."""
        from docker.types import LogConfig, Ulimit

        api = self.client.api
        deadline = time.time() + (self.pool.ttl_s if warm else STARTUP_S + limits.timeout_s)
        # the caller's labels (heldout.submission, heldout.worker) win over our default worker
        # id; the sandbox marker and the deadline the reaper relies on are always ours
        all_labels = {
            WORKER_LABEL: self.worker,
            **dict(labels or {}),
            LABEL: "1",
            DEADLINE_LABEL: str(int(deadline)),
        }
        if warm:
            all_labels[WarmPool.LABEL] = self.pool.key(image, limits)
        threads = str(max(1, math.ceil(limits.cpus)))
        env = {
            "OMP_NUM_THREADS": threads,
            "OPENBLAS_NUM_THREADS": threads,
            "MKL_NUM_THREADS": threads,
            "HELDOUT_PREIMPORT": ",".join(self.preimport if warm else ()),
            # signs the kernel's messages; the kernel knows it (it is its own channel), the
            # run's token (in go.json, in the runner's outbox) it never sees
            "HELDOUT_KERNEL_KEY": secrets.token_hex(16),
        }
        data_mb = self.pool.data_mb if warm else math.ceil(data_bytes / MB) + 1
        mounts = [
            _tmpfs_volume(WORK, limits.disk_mb, f"uid={UID},gid={UID},mode=0755", all_labels),
            # root-owned and 0555: the notebook reads data/ but cannot write there
            _tmpfs_volume(f"{WORK}/data", data_mb, "uid=0,gid=0,mode=0555", all_labels),
            # the runner's inbox and outbox: its own uid and 0700, so the notebook can neither
            # read the run's token there nor write a report; its own volume, so a full working
            # directory cannot stop the report
            _tmpfs_volume(
                OUTBOX,
                limits.executed_mb + REPORT_MB + 4,
                f"uid={RUNNER_UID},gid={RUNNER_UID},mode=0700",
                all_labels,
            ),
        ]
        host_config = api.create_host_config(
            network_mode="none",
            read_only=True,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            mem_limit=f"{limits.memory_mb}m",
            memswap_limit=f"{limits.memory_mb}m",
            # period/quota rather than nano_cpus: a warm container's quota is updated on claim
            cpu_period=100_000,
            cpu_quota=int(limits.cpus * 100_000),
            pids_limit=_host_pids(limits.pids, self.runtime),
            ulimits=[
                Ulimit(name="nofile", soft=limits.nofile, hard=limits.nofile),
                Ulimit(name="core", soft=0, hard=0),
            ],
            tmpfs={CONTAINER_TMP: f"size={limits.tmp_mb}m,mode=1777,nosuid,nodev"},
            mounts=mounts,
            shm_size=f"{min(limits.tmp_mb, 64)}m",
            init=True,
            log_config=LogConfig(type="none"),
            # gVisor (runsc) puts a user-space kernel between the notebook and the host's: a
            # second wall for a kernel bug, when the engine has it
            runtime=self.runtime,
        )
        created = api.create_container(
            image,
            name=name or run_name(deadline),
            user=f"{RUNNER_UID}:{RUNNER_UID}",
            environment=env,
            working_dir=WORK,
            labels=all_labels,
            host_config=host_config,
            network_disabled=True,
        )
        container = self.client.containers.get(created["Id"])
        try:
            sock = None if warm else _attach(api, container.id)
            container.start()
            # The kernel as the notebook's user, beside the runner (not its child): no uid of
            # the candidate's code is the runner's. The runner connects over loopback.
            kernel = api.exec_create(
                container.id, KERNEL_CMD, stdout=False, stderr=False, user=f"{UID}:{UID}",
                workdir=WORK,
            )  # fmt: skip
            api.exec_start(kernel["Id"], detach=True)
        except BaseException:
            self.remove(container)
            raise
        return Prepared(container, sock, kernel["Id"])

    def _drive(
        self,
        prepared: Prepared,
        notebook: Path,
        data_dir: Path,
        out_dir: Path,
        limits: Limits,
        base: RunResult,
        started: float,
        upgraded: bool = False,
    ) -> RunResult:
        container = prepared.container
        sock = prepared.sock or _attach(self.client.api, container.id)
        name = "notebook.ipynb"
        with archive.inputs_tar(notebook, name, data_dir) as tar:
            container.put_archive(WORK, tar)
        # Only the runner reads this (its outbox is 0700): the report and the done line must
        # carry it, so nothing the notebook made, and no other run, can pass for this run's.
        token = secrets.token_hex(16)
        settings = {
            "notebook": name,
            "timeout_s": limits.timeout_s,
            "cell_output_bytes": limits.cell_output_kb * 1024,
            "output_abort_bytes": limits.output_abort_mb * MB,
            "predictions_bytes": limits.predictions_mb * MB,
            "token": token,
        }
        since = time.time()
        container.put_archive(OUTBOX, archive.control_tar(settings))
        went = time.monotonic()
        finished = _wait_done(sock, went + limits.timeout_s + limits.grace_s, token)
        duration = time.monotonic() - went
        with contextlib.suppress(Exception):
            container.pause()  # freeze every process: outputs cannot change while copied
        report = _read_report(container) if finished else None
        if report is not None and report.get("token") != token:
            # the done line carried our token, the report did not: not this run's container
            raise SandboxError("the sandbox's report belongs to another run; the run is retried")
        failure = (report or {}).get("failure")
        if isinstance(failure, dict) and failure.get("ename") == "DeadKernelError":
            failure["evalue"] = _kernel_exit(self.client.api, prepared.kernel)  # engine's word
        # also after a timeout: the partial notebook shows the candidate how far it got
        executed_note = archive.fetch_file(
            container,
            f"{OUTBOX}/executed.ipynb",
            out_dir / "executed.ipynb",
            limits.executed_mb * MB,
        )
        predictions_note = archive.fetch_file(
            container,
            f"{WORK}/predictions.csv",
            out_dir / "predictions.csv",
            limits.predictions_mb * MB,
        )
        notes = [n for n in (executed_note, predictions_note) if n]
        if upgraded:
            notes.append(UPGRADED)
        bound = _bind_predictions(out_dir / "predictions.csv", report)
        if bound:
            notes.append(bound)
        oom = _oom_events(self.client, container.id, since) or bool(
            report and report.get("oom_kills")
        )
        return outcome(
            base=replace(
                base, container=container.id, warm=prepared.sock is None, runtime=self.runtime
            ),
            report=report,
            finished=finished,
            oom=oom,
            duration_s=duration,
            total_s=time.monotonic() - started,
            out_dir=out_dir,
            notes=notes,
            limits=limits,
        )

    # ------------------------------------------------------------------ cleanup

    def _dispose(self, container: Any) -> None:
        """Remove a finished (paused) container, in the background when asked to.

        Never masks the run's outcome; the reaper removes what this could not. Background
        removal hands the result back ~0.15 s sooner; `close()` waits for pending removals.
        """
        if not self.background_removal:
            with contextlib.suppress(Exception):
                self.remove(container)
            return

        def remove() -> None:
            with contextlib.suppress(Exception):
                self.remove(container)

        thread = threading.Thread(target=remove, name="sandbox-remove", daemon=True)
        with self._lock:
            self._removals = [t for t in self._removals if t.is_alive()] + [thread]
        thread.start()

    @property
    def connected(self) -> bool:
        """Whether a client to the engine was made (closing need not connect just to drain)."""
        return self._client is not None

    def remove(self, container: Any) -> None:
        """Kill and remove the container with its volumes; its processes die with it."""
        import docker.errors
        import requests

        for attempt in range(3):
            try:
                container.remove(force=True, v=True)
                return
            except docker.errors.NotFound:
                return
            except (docker.errors.APIError, requests.RequestException):
                # a busy engine (gVisor's sandboxes take longer to stop) may refuse or time out
                if attempt == 2:
                    raise
                time.sleep(0.5 * (attempt + 1))

    def reap(self, worker: str | None = None, everything: bool = False) -> list[str]:
        """Remove labelled leftovers past their deadline, of a dead `worker`, or all of them."""
        from heldout.sandbox.pool import deadline_of

        removed = []
        now = time.time()
        # ignore_removed: a container removed between docker's list and its inspect (by a
        # background removal or another worker's reaper) is simply gone
        listed = self.client.containers.list(
            all=True, filters={"label": LABEL}, ignore_removed=True
        )
        for container in listed:
            owner = container.labels.get(WORKER_LABEL, "")
            if everything or (worker and owner == worker) or deadline_of(container) < now:
                self.remove(container)
                removed.append(container.id)
        # volumes whose container was removed without them (e.g. by hand with `docker rm -f`)
        for volume in self.client.volumes.list(filters={"label": LABEL, "dangling": True}):
            owner = volume.attrs.get("Labels", {}).get(WORKER_LABEL, "")
            if everything or (worker and owner == worker) or deadline_of(volume) < now:
                with contextlib.suppress(Exception):  # in use again, or already gone
                    volume.remove()
        return removed

    def owners(self) -> set[str]:
        """Worker ids that have labelled containers on this engine (for reaping dead ones)."""
        return {
            c.labels.get(WORKER_LABEL, "")
            for c in self.client.containers.list(
                all=True, filters={"label": LABEL}, ignore_removed=True
            )
        } - {""}

    def close(self) -> None:
        self.pool.drain()
        for thread in list(self._removals):
            thread.join(timeout=60)


def _host_pids(pids: int, runtime: str) -> int:
    """The engine's pids limit: under gVisor the sandbox's own kernel (the sentry) and, on the
    ptrace platform, a stub process per task are host tasks in the container's cgroup too."""
    return pids * 4 + 128 if runtime == "runsc" else pids


def _tmpfs_volume(target: str, size_mb: int, options: str, labels: dict[str, str]) -> Any:
    from docker.types import DriverConfig, Mount

    # An anonymous tmpfs volume: size-capped like --tmpfs, but readable by get_archive (docker
    # cp cannot see --tmpfs mounts) and removed with the container (remove(v=True)).
    return Mount(
        target,
        None,
        type="volume",
        labels=labels,
        driver_config=DriverConfig(
            "local",
            {"type": "tmpfs", "device": "tmpfs", "o": f"size={size_mb}m,{options},nosuid,nodev"},
        ),
    )


def _attach(api: Any, container_id: str) -> Any:
    return api.attach_socket(container_id, params={"stdout": 1, "stderr": 1, "stream": 1})


def _wait_done(sock: Any, deadline: float, token: str) -> bool:
    """Read the runner's stdout until it says this run is done, the stream ends, or the
    deadline. Only the runner writes there (the kernel runs under another uid)."""
    done = DONE + token.encode() + b"\n"
    raw = getattr(sock, "_sock", sock)
    tail = b""
    read = 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        raw.settimeout(min(left, 5.0))
        try:
            chunk = raw.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            return False
        if not chunk:
            return False
        read += len(chunk)
        tail = (tail + chunk)[-256:]
        if done in tail:
            return True
        if read > 16 * MB:  # only the runner writes here; a flood is a sabotaged runner
            return False


def _read_report(container: Any) -> dict[str, Any] | None:
    """The runner's report, parsed with a size bound (json raises RecursionError on deep
    nesting instead of exhausting the stack); None when unusable."""
    body = archive.read_small(container, f"{OUTBOX}/result.json", REPORT_MB * MB)
    if body is None:
        return None
    try:
        report = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return report if isinstance(report, dict) else None


def _bind_predictions(path: Path, report: dict[str, Any] | None) -> str | None:
    """Keep predictions.csv only if it is the file the runner hashed after the last cell.

    A process the notebook left running could rewrite it afterwards; that file is not the
    run's result. Without a report (the run did not finish) nothing is kept.
    """
    if not path.is_file():
        return None
    expected = (report or {}).get("predictions_sha256")
    if isinstance(expected, str) and file_sha256(path) == expected:
        return None
    path.unlink()
    if report is None:
        return None
    return "predictions.csv changed after the notebook's last cell, so it was not collected"


def _kernel_exit(api: Any, exec_id: str) -> str:
    """How the kernel (the `docker exec` beside the runner) ended, as the engine saw it."""
    with contextlib.suppress(Exception):
        state = api.exec_inspect(exec_id) if exec_id else {}
        if not state.get("Running") and state.get("ExitCode") is not None:
            code = int(state["ExitCode"])
            return f"killed by signal {code - 128}" if code > 128 else f"exit status {code}"
    return "the kernel process ended"


def _oom_events(client: Any, container_id: str, since: float) -> bool:
    """Whether the engine saw an OOM kill in the container (the runner's word is not enough)."""
    events = client.api.events(
        since=f"{since - 1:.3f}",
        until=f"{time.time():.3f}",
        filters={"container": container_id, "event": "oom"},
        decode=True,
    )
    return any(True for _ in events)
