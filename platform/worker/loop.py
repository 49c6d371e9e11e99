"""`heldout worker`: N slots claiming from the queue, one heartbeat, graceful SIGTERM."""

from __future__ import annotations

import logging
import os
import random
import secrets
import signal
import socket
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.errors import HeldoutError
from heldout.platform.storage import Storage
from heldout.platform.worker import queue
from heldout.platform.worker.job import Context
from heldout.platform.worker.runner import execute
from heldout.sandbox import Backend

log = logging.getLogger("heldout.worker")
REAP_EVERY_S = 60.0


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"


class Worker:
    """Runs up to `concurrency` sandboxes at once until stopped."""

    def __init__(
        self,
        config: Config,
        db: Database,
        storage: Storage,
        backend: Backend,
        concurrency: int = 1,
        poll_s: float = 1.0,
        grace_s: float = 30.0,
        name: str | None = None,
    ) -> None:
        self.ctx = Context(
            config=config,
            db=db,
            storage=storage,
            backend=backend,
            worker=name or worker_id(),
            cache=config.home / "cache",
            lease_s=int(config["HELDOUT_LEASE_SECONDS"]),
            max_attempts=int(config["HELDOUT_MAX_ATTEMPTS"]),
        )
        self.ctx.cache.mkdir(parents=True, exist_ok=True)
        self.concurrency = concurrency
        self.poll_s = poll_s
        self.grace_s = grace_s
        self.stopping = threading.Event()
        self.active: dict[int, queue.Claim] = {}
        self._active_lock = threading.Lock()
        self.processed = 0

    # -- lifecycle

    def run(self, until_idle: bool = False) -> int:
        """Work until stopped (or, with `until_idle`, until the queue is empty)."""
        self._reap()
        slots = [
            threading.Thread(target=self._slot, args=(until_idle,), name=f"slot-{i}", daemon=True)
            for i in range(self.concurrency)
        ]
        beat = threading.Thread(target=self._heartbeat, name="heartbeat", daemon=True)
        beat.start()
        for slot in slots:
            slot.start()
        deadline: float | None = None
        while any(s.is_alive() for s in slots):
            if self.stopping.is_set() and deadline is None:
                deadline = time.monotonic() + self.grace_s
            if deadline is not None and time.monotonic() > deadline:
                self._release_all()
                break
            for slot in slots:
                slot.join(timeout=0.2)
        self.stopping.set()
        try:
            self.ctx.backend.close()  # removes warm containers nobody will claim
        except Exception as exc:  # noqa: BLE001  (best effort while shutting down)
            log.warning("could not close the sandbox backend: %s", exc)
        return self.processed

    def stop(self, *_: object) -> None:
        self.stopping.set()

    def install_signals(self) -> None:
        def on_term(signum: int, _frame: FrameType | None) -> None:
            if self.stopping.is_set():  # a second signal: stop now, hand work back
                self._release_all()
                raise SystemExit(1)
            log.info("stopping: finishing %d running submission(s)", len(self.active))
            self.stopping.set()

        signal.signal(signal.SIGTERM, on_term)
        signal.signal(signal.SIGINT, on_term)

    # -- threads

    def _slot(self, until_idle: bool) -> None:
        while not self.stopping.is_set():
            try:
                claim = queue.claim(self.ctx.db, self.ctx.worker, self.ctx.lease_s)
            except HeldoutError as exc:
                log.warning("cannot claim: %s", exc)
                claim = None
            if claim is None:
                if until_idle:
                    return
                self.stopping.wait(self.poll_s * (0.5 + random.random()))  # noqa: S311
                continue
            with self._active_lock:
                self.active[claim.submission_id] = claim
            try:
                execute(self.ctx, claim)
                self.processed += 1
            except Exception:
                log.exception(
                    "run failed unexpectedly", extra={"submission_id": claim.submission_id}
                )
            finally:
                with self._active_lock:
                    self.active.pop(claim.submission_id, None)

    def _heartbeat(self) -> None:
        interval = max(self.ctx.lease_s / 3, 0.5)
        next_reap = time.monotonic() + REAP_EVERY_S
        while True:
            if time.monotonic() > next_reap:  # containers of crashed workers, past deadline
                self._reap()
                next_reap = time.monotonic() + REAP_EVERY_S
            if self.stopping.is_set():
                time.sleep(interval)  # keep beating for runs that are finishing
            else:
                self.stopping.wait(interval)
            with self._active_lock:
                claims = list(self.active.values())
            if self.stopping.is_set() and not claims:
                return
            for claim in claims:
                try:
                    if not queue.heartbeat(self.ctx.db, claim, self.ctx.lease_s):
                        log.warning("lease lost", extra={"submission_id": claim.submission_id})
                except HeldoutError as exc:
                    log.warning("heartbeat failed: %s", exc)

    def _release_all(self) -> None:
        with self._active_lock:
            claims = list(self.active.values())
        for claim in claims:
            try:
                queue.release(self.ctx.db, claim)
            except HeldoutError as exc:
                log.warning("could not release %s: %s", claim.submission_id, exc)
        try:
            self.ctx.backend.reap(worker=self.ctx.worker)
        except Exception as exc:  # noqa: BLE001  (best effort while shutting down)
            log.warning("could not remove containers: %s", exc)

    def _reap(self) -> None:
        """Remove containers that crashed workers left: past their deadline, or whose worker
        process on this host is gone (a SIGKILLed worker's run must not burn CPU until its
        deadline)."""
        try:
            self.ctx.backend.reap()
            for owner in self.ctx.backend.owners():
                if owner != self.ctx.worker and _dead_here(owner):
                    log.info("removing containers of dead worker %s", owner)
                    self.ctx.backend.reap(worker=owner)
        except Exception as exc:  # noqa: BLE001  (the reaper must never stop the worker)
            log.warning("reaper failed: %s", exc)


def _dead_here(owner: str) -> bool:
    """True when `owner` (host:pid:nonce) names a process on this host that no longer runs."""
    host, _, rest = owner.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _warn_if_engine_down() -> None:
    """Say at once when the engine is unreachable; runs meanwhile retry as platform errors."""
    from heldout.sandbox import SandboxError
    from heldout.sandbox.engine import connect

    try:
        connect()
    except SandboxError as exc:
        log.warning("%s; queued submissions wait and are retried until it answers", exc)


def _say_runtime(backend: Any) -> None:
    """Say at start which container runtime notebooks get (gVisor's runsc is a second wall)."""
    from heldout.sandbox import SandboxError

    try:
        runtime = getattr(backend, "runtime", "")
    except SandboxError as exc:
        log.warning("%s", exc)
        return
    if runtime:
        wall = "gVisor, a user-space kernel" if runtime == "runsc" else "no second wall"
        log.info("sandbox runtime: %s (%s)", runtime, wall)


def start(config: Config, concurrency: int, until_idle: bool = False) -> int:
    """Open everything a worker needs and run it in this process."""
    from heldout.platform.storage import open_storage
    from heldout.sandbox import get_backend

    db = Database(config.database_url)
    db.upgrade()
    storage = open_storage(config)
    storage.check()
    name = worker_id()
    # The backend labels containers with this id, so a reaper can tell whose they are.
    # Containers are removed in the background: the result is recorded ~0.15 s sooner.
    options: dict[str, Any] = {
        "worker": name,
        "background_removal": True,
        "runtime": str(config["HELDOUT_SANDBOX_RUNTIME"]),
    }
    if config["HELDOUT_SANDBOX_WARM"]:
        # Two started kernels per slot: a run of about a second would otherwise outpace the
        # two to three seconds a refill takes and start cold.
        options["pool_size"] = 2 * concurrency
    backend = get_backend(str(config["HELDOUT_SANDBOX_BACKEND"]), **options)
    worker = Worker(
        config,
        db,
        storage,
        backend,
        concurrency=concurrency,
        name=name,
        grace_s=float(config["HELDOUT_WORKER_GRACE_SECONDS"]),
    )
    worker.install_signals()
    _warn_if_engine_down()
    _say_runtime(backend)
    Path(config.home).mkdir(parents=True, exist_ok=True)
    log.info("worker %s started with %d slot(s)", worker.ctx.worker, concurrency)
    return worker.run(until_idle=until_idle)
