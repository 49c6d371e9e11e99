"""Runs one notebook inside the sandbox container; the host drives it and trusts none of it.

Protocol with the host (heldout.sandbox.docker):
1. Start: start the python3 kernel (and pre-import modules if asked), then wait.
2. The host copies the inputs into the working directory, then `.heldout/go.json` (settings).
3. Execute every cell with per-cell output caps and the run's deadline; write
   `.heldout-out/executed.ipynb` after slow cells and at the end, `.heldout-out/result.json`.
4. Print one line `HELDOUT-DONE` and sleep: the host freezes the container, copies the
   outputs out and removes it. The container's tmpfs disappears when it stops, so the runner
   never exits on its own.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

WORK = Path("/home/sandbox/work")
GO = WORK / ".heldout" / "go.json"
OUT = Path("/home/sandbox/outbox")  # its own volume: a full working directory cannot block it
KERNEL_LOG = Path("/tmp/kernel.log")  # noqa: S108  (the container's private, capped /tmp)
STARTED = time.monotonic()
LOG: list[str] = []


def log(text: str) -> None:
    LOG.append(f"[{time.monotonic() - STARTED:7.2f}s] {text}")


async def start_kernel(preimport: list[str]) -> tuple[Any, Any]:
    """The python3 kernel, whatever the notebook asks for, in the working directory."""
    from jupyter_client.manager import AsyncKernelManager

    mpl = Path("/opt/heldout/matplotlib")
    if mpl.is_dir():
        shutil.copytree(mpl, "/tmp/matplotlib", dirs_exist_ok=True)  # noqa: S108
    km = AsyncKernelManager(kernel_name="python3")
    # The kernel's own fd 1/2 (C libraries, os.system) go to a file on the capped /tmp, never
    # to the container's stdout, which only the runner writes.
    sink = KERNEL_LOG.open("ab")
    await km.start_kernel(cwd=str(WORK), stdout=sink, stderr=sink, stdin=subprocess.DEVNULL)
    kc = km.client()
    kc.start_channels()
    await kc.wait_for_ready(timeout=120)
    if preimport:
        code = "".join(f"import {name} as _heldout_m\n" for name in preimport)
        await kc.execute_interactive(code + "del _heldout_m\n", silent=True, store_history=False)
    log(f"kernel ready (pid {getattr(km.provisioner, 'pid', '?')})")
    OUT.mkdir(exist_ok=True)
    (OUT / "ready").touch()  # lets a benchmark wait for a warm container to be warm
    return km, kc


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


def make_client(nb: Any, km: Any, kc: Any, settings: dict[str, Any]) -> Any:
    from nbclient import NotebookClient

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

    client = CappedClient(
        nb,
        km=km,
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


async def run(km: Any, kc: Any, settings: dict[str, Any]) -> dict[str, Any]:
    nbformat: Any = importlib.import_module("nbformat")
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = nbformat.read(str(WORK / settings["notebook"]), as_version=4)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    client = make_client(nb, km, kc, settings)
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
                "evalue": exit_code(km),
                "traceback": "",
            }
    result["oom_kills"] = oom_kills()
    write_notebook(nb)
    return result


def exit_code(km: Any) -> str:
    process = getattr(km.provisioner, "process", None)
    code = process.poll() if process is not None else None
    if code is None:
        return "exit status unknown"
    return f"killed by signal {-code}" if code < 0 else f"exit status {code}"


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


def kernel_log_tail(limit: int = 4000) -> str:
    try:
        with KERNEL_LOG.open("rb") as handle:
            handle.seek(max(0, KERNEL_LOG.stat().st_size - limit))
            return handle.read().decode("utf-8", "replace")
    except OSError:
        return ""


async def main() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    preimport = [m for m in os.environ.get("HELDOUT_PREIMPORT", "").split(",") if m]
    try:
        km, kc = await start_kernel(preimport)
    except Exception:  # noqa: BLE001  (report anything to the host, then wait to be removed)
        km = kc = None
        startup_error = traceback.format_exc()[-4000:]
    settings = await wait_for_go()
    log("go")
    if km is None:
        result: dict[str, Any] = {"status": "error", "error": startup_error}
    else:
        try:
            result = await run(km, kc, settings)
        except Exception:  # noqa: BLE001
            result = {"status": "error", "error": traceback.format_exc()[-4000:]}
    result["log"] = "\n".join(LOG) + "\n--- kernel stderr (tail) ---\n" + kernel_log_tail()
    OUT.mkdir(exist_ok=True)
    (OUT / "result.json").write_text(json.dumps(result))
    sys.stdout.write("HELDOUT-DONE\n")
    sys.stdout.flush()
    while True:
        await asyncio.sleep(3600)


if __name__ == "__main__":
    asyncio.run(main())
