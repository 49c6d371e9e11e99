"""Runs one notebook inside the sandbox container; the host drives it and trusts none of it.

Two users, so the candidate's code cannot reach the runner's channel: this runner is uid 10002
and owns the outbox (0700) and the container's stdout; the kernel runs as uid 10001, started
by the host with `docker exec` (image/kernel.py). Protocol with the host (heldout.sandbox.docker):
1. Start: connect to the kernel on the container's loopback (pre-import modules if asked),
   then wait.
2. The host copies the inputs into the working directory, then `outbox/go.json` (settings and
   the run's random token, which the kernel cannot read).
3. Execute every cell with per-cell output caps and the run's deadline; write
   `outbox/executed.ipynb` after slow cells and at the end, then `outbox/result.json` with the
   token and the hashes of the executed notebook and of predictions.csv as they were at the end.
4. Print one line `HELDOUT-DONE <token>` and sleep: the host freezes the container, copies the
   outputs out, checks them against the report and removes it. The container's tmpfs
   disappears when it stops, so the runner never exits on its own.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import os
import signal
import stat
import sys
import time
import traceback
from pathlib import Path
from typing import Any

WORK = Path("/home/sandbox/work")
OUT = Path("/home/sandbox/outbox")  # the runner's own volume, 0700: the kernel cannot enter
GO = OUT / "go.json"
KERNEL_LOG = Path("/tmp/kernel.log")  # noqa: S108  (the container's private, capped /tmp)
KERNEL_UID = 10001
STARTED = time.monotonic()
LOG: list[str] = []
sys.path.insert(0, str(Path(__file__).resolve().parent))
# The image's kernel launcher, beside this file: both ends read the connection from one place.
connection_info: Any = importlib.import_module("kernel").connection_info


def log(text: str) -> None:
    LOG.append(f"[{time.monotonic() - STARTED:7.2f}s] {text}")


async def start_kernel(preimport: list[str]) -> Any:
    """A client of the python3 kernel the host started as the notebook's user."""
    from jupyter_client.asynchronous.client import AsyncKernelClient

    kc = AsyncKernelClient()
    kc.load_connection_info(connection_info(os.environ["HELDOUT_KERNEL_KEY"]))
    # No stdin channel, so execute requests say allow_stdin=false and input() fails at once
    # with StdinNotImplementedError instead of waiting for the deadline. No heartbeat channel:
    # jupyter_client would call a kernel that has not bound its ports yet (the host starts it
    # beside us) dead; liveness comes from /proc (kernel_alive).
    kc.start_channels(stdin=False, hb=False)
    await kc.wait_for_ready(timeout=120)
    if preimport:
        code = "".join(f"import {name} as _heldout_m\n" for name in preimport)
        await kc.execute_interactive(code + "del _heldout_m\n", silent=True, store_history=False)
    log("kernel ready")
    (OUT / "ready").touch()  # lets a benchmark wait for a warm container to be warm
    return kc


def kernel_alive() -> bool:
    """Whether the kernel runs: the notebook user's process that `docker exec` started (its
    parent is outside the container, so its ppid is 0; its children have the kernel as parent).
    """
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        uid = fields.get("Uid", "").split()
        if uid[:1] == [str(KERNEL_UID)] and fields.get("PPid", "").strip() == "0":
            return True
    return False


# Run silently in the kernel before the first cell: a print flood fails its cell with a clear
# error instead of filling memory. It only protects honest notebooks from themselves; the host
# enforces memory, time and output sizes whatever the notebook undoes.
OUTPUT_CAP_CODE = """
def _heldout_cap(limit):
    import sys

    class OutputLimitExceeded(Exception):
        pass

    used = [0]
    # On the class: IPython re-wraps each stream's instance `write` for every cell.
    cls = type(sys.stdout)
    original = cls.write

    def write(self, text):
        used[0] += len(text)
        if used[0] > limit:
            raise OutputLimitExceeded(
                f"the notebook wrote more than {limit // 2**20} MB to stdout and stderr"
            )
        return original(self, text)

    cls.write = write

_heldout_cap(%d)
del _heldout_cap
"""


async def wait_for_go() -> dict[str, Any]:
    while not GO.exists():
        await asyncio.sleep(0.005)
    await asyncio.sleep(0.005)  # the host writes go.json in one archive; let the write land
    settings: dict[str, Any] = json.loads(GO.read_text())
    return settings


def make_client(nb: Any, kc: Any, settings: dict[str, Any]) -> Any:
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    cell_cap = int(settings["cell_output_bytes"])
    abort_cap = int(settings["output_abort_bytes"])

    class CappedClient(NotebookClient):
        """nbclient with output caps: truncate a cell's output, stop a flood."""

        seen = 0
        per_cell: dict[int, int] = {}  # noqa: RUF012
        flood_cell: int | None = None

        def output(self, outs: Any, msg: Any, display_id: Any, cell_index: int) -> Any:
            size = _msg_size(msg)
            self.seen += size
            used = self.per_cell.get(cell_index, 0) + size
            self.per_cell[cell_index] = used
            if self.seen > abort_cap and self.flood_cell is None:
                self.flood_cell = cell_index
                if self.task_poll_for_reply is not None:
                    self.task_poll_for_reply.cancel()
                return None
            if used > cell_cap:
                if used - size <= cell_cap:
                    note = f"\n[heldout: output truncated, this cell wrote over {cell_cap} bytes]\n"
                    fake = {
                        **msg,
                        "header": {**msg["header"], "msg_type": "stream"},
                        "msg_type": "stream",
                        "content": {"name": "stderr", "text": note},
                    }
                    return super().output(outs, fake, None, cell_index)
                return None
            return super().output(outs, msg, display_id, cell_index)

        async def _async_check_alive(self) -> None:
            # no kernel manager here (the host started the kernel): ask /proc instead
            if not kernel_alive():
                raise DeadKernelError("Kernel died")

    client = CappedClient(
        nb,
        kernel_name="python3",
        timeout=None,
        iopub_timeout=4,
        allow_errors=False,
        record_timing=True,
        resources={"metadata": {"path": str(WORK)}},
    )
    client.kc = kc  # the kernel was started before the notebook arrived
    return client


def _msg_size(msg: dict[str, Any]) -> int:
    content = msg.get("content", {})
    if "text" in content:
        return len(content["text"])
    data = content.get("data") or {}
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v)) for v in data.values())


async def execute(client: Any, nb: Any, settings: dict[str, Any], timings: list[Any]) -> None:
    from nbclient.util import ensure_async

    deadline = time.monotonic() + float(settings["timeout_s"])
    client.timeout_func = lambda cell: max(1, int(deadline - time.monotonic()) + 1)
    await client.kc.execute_interactive(
        OUTPUT_CAP_CODE % int(settings["output_abort_bytes"]), silent=True, store_history=False
    )
    msg_id = await ensure_async(client.kc.kernel_info())
    info = await client.async_wait_for_reply(msg_id)
    if info is not None and "language_info" in info["content"]:
        nb.metadata["language_info"] = info["content"]["language_info"]
    last_checkpoint = time.monotonic()
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        started = time.monotonic()
        try:
            await client.async_execute_cell(
                cell, index, execution_count=client.code_cells_executed + 1
            )
        finally:
            timings.append({"cell": index + 1, "seconds": round(time.monotonic() - started, 4)})
        if time.monotonic() - last_checkpoint > 2:
            write_notebook(nb)
            last_checkpoint = time.monotonic()


def write_notebook(nb: Any) -> None:
    nbformat: Any = importlib.import_module("nbformat")  # untyped library

    OUT.mkdir(exist_ok=True)
    partial = OUT / "executed.ipynb.partial"
    nbformat.write(nb, str(partial))
    partial.replace(OUT / "executed.ipynb")


async def run(kc: Any, settings: dict[str, Any]) -> dict[str, Any]:
    nbformat: Any = importlib.import_module("nbformat")
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(str(WORK / settings["notebook"]), as_version=4)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    client = make_client(nb, kc, settings)
    timings: list[dict[str, Any]] = []
    result: dict[str, Any] = {"status": "succeeded", "failure": None, "cell_timings": timings}

    def current() -> int:
        return int(timings[-1]["cell"]) if timings else 0

    try:
        await execute(client, nb, settings, timings)
    except CellExecutionError as exc:
        result["status"] = "failed"
        result["failure"] = {
            "cell": current(),
            "ename": exc.ename,
            "evalue": exc.evalue,
            "traceback": str(exc.traceback)[-8000:],
        }
    except CellTimeoutError:
        result["status"] = "timed_out"
        result["failure"] = {"cell": current(), "ename": "Timeout", "evalue": "", "traceback": ""}
    except DeadKernelError:
        if client.flood_cell is not None:
            result["status"] = "failed"
            result["failure"] = {
                "cell": client.flood_cell + 1,
                "ename": "OutputLimitExceeded",
                "evalue": f"the notebook wrote more than "
                f"{int(settings['output_abort_bytes']) // 2**20} MB of output",
                "traceback": "",
            }
        else:
            result["status"] = "failed"
            result["failure"] = {
                "cell": current(),
                "ename": "DeadKernelError",
                "evalue": "the kernel process ended",
                "traceback": "",
            }
    result["oom_kills"] = oom_kills()
    write_notebook(nb)
    return result


def oom_kills() -> int:
    """The container's OOM-kill counter (cgroup v1 or v2): a hint the host double-checks."""
    for path, key in (
        ("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill"),
        ("/sys/fs/cgroup/memory.events", "oom_kill"),
    ):
        try:
            for line in Path(path).read_text().splitlines():
                name, _, value = line.partition(" ")
                if name == key:
                    return int(value)
        except OSError:
            continue
    return 0


def open_regular(path: Path, cap: int) -> Any:
    """A regular file of at most `cap` bytes, opened for reading, or None: never a link, FIFO
    or device (the kernel owns the working directory and /tmp and may plant one there)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    handle = os.fdopen(fd, "rb")
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode) or info.st_size > cap:
        handle.close()
        return None
    return handle


def kernel_log_tail(limit: int = 4000) -> str:
    handle = open_regular(KERNEL_LOG, 2**40)
    if handle is None:
        return ""
    with handle:
        handle.seek(max(0, os.fstat(handle.fileno()).st_size - limit))
        return str(handle.read(limit).decode("utf-8", "replace"))


def sha256_of(path: Path, cap: int) -> str | None:
    handle = open_regular(path, cap)
    if handle is None:
        return None
    digest = hashlib.sha256()
    with handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


async def main() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    preimport = [m for m in os.environ.get("HELDOUT_PREIMPORT", "").split(",") if m]
    try:
        kc = await start_kernel(preimport)
    except Exception:  # noqa: BLE001  (report anything to the host, then wait to be removed)
        kc = None
        startup_error = traceback.format_exc()[-4000:]
    settings = await wait_for_go()
    log("go")
    if kc is None:
        # before any of the notebook ran: the host may call this a platform error
        result: dict[str, Any] = {"status": "error", "phase": "start", "error": startup_error}
    else:
        try:
            result = await run(kc, settings)
        except Exception:  # noqa: BLE001  (after the notebook started: the candidate's run)
            result = {"status": "error", "phase": "run", "error": traceback.format_exc()[-4000:]}
    token = str(settings.get("token", ""))
    result["token"] = token
    result["executed_sha256"] = sha256_of(OUT / "executed.ipynb", 2**31)
    result["predictions_sha256"] = sha256_of(
        WORK / "predictions.csv", int(settings.get("predictions_bytes", 2**31))
    )
    result["log"] = "\n".join(LOG) + "\n--- kernel stderr (tail) ---\n" + kernel_log_tail()
    (OUT / "result.json").write_text(json.dumps(result))
    sys.stdout.write(f"HELDOUT-DONE {token}\n")
    sys.stdout.flush()
    while True:
        await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main())
