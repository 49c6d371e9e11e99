"""Starts the notebook's python3 kernel as the notebook's user (the host starts it, not the runner).

The host starts this with `docker exec --user 10001` beside the runner (uid 10002), so the
candidate's code never shares a uid with the runner: it cannot write the runner's outbox or
report, signal or trace the runner, or open the runner's stdout (`/proc/1/fd/1`), which is the
channel the host reads the done line from.

The connection (fixed ports on the container's own loopback, a per-container key) comes from
the environment the host set on the container; the runner builds its client from the same.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

CONNECTION = Path("/tmp/heldout-kernel.json")  # noqa: S108  (the container's private /tmp)
KERNEL_LOG = Path("/tmp/kernel.log")  # noqa: S108
PORTS = {"shell_port": 50001, "iopub_port": 50002, "stdin_port": 50003, "control_port": 50004}
HB_PORT = 50005


def connection_info(key: str) -> dict[str, object]:
    """What the kernel binds and the runner connects to (both read the key from the env)."""
    return {
        **PORTS,
        "hb_port": HB_PORT,
        "ip": "127.0.0.1",
        "transport": "tcp",
        "key": key,
        "signature_scheme": "hmac-sha256",
        "kernel_name": "python3",
    }


def main() -> None:
    mpl = Path("/opt/heldout/matplotlib")
    if mpl.is_dir():  # the font cache made at build time; the root filesystem is read-only
        shutil.copytree(mpl, os.environ.get("MPLCONFIGDIR", "/tmp/matplotlib"), dirs_exist_ok=True)  # noqa: S108
    CONNECTION.write_text(json.dumps(connection_info(os.environ["HELDOUT_KERNEL_KEY"])))
    # The kernel's own fd 1/2 (C libraries, os.system) go to a file on the capped /tmp.
    log = os.open(KERNEL_LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.execv(  # noqa: S606  (a fixed command: this image's own interpreter and ipykernel)
        sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", str(CONNECTION)]
    )


if __name__ == "__main__":
    main()
