"""A real installation for end-to-end tests: the `heldout` CLI, server and workers as processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from heldout.platform.db import Database
from tests.services import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "challenges" / "examples"
HELDOUT = shutil.which("heldout") or str(Path(sys.executable).parent / "heldout")


class Installation:
    """One HELDOUT_HOME with its database, a server on a free port, and worker processes."""

    def __init__(self, home: Path, database_url: str, **settings: str) -> None:
        self.home = home
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("HELDOUT_")}
        self.env.update(
            {
                "HELDOUT_HOME": str(home),
                "HELDOUT_DATABASE_URL": database_url,
                "HELDOUT_BASE_URL": self.base,
                "HELDOUT_SECRET_KEY": "e2e",
                "HELDOUT_LEASE_SECONDS": "5",
                # runc for time: tests/sandbox runs every attack under runc and gVisor's runsc,
                # and the soak's first variant runs the whole pipeline under runsc
                "HELDOUT_SANDBOX_RUNTIME": "runc",
                **settings,
            }
        )
        self.processes: list[subprocess.Popen[bytes]] = []

    def cli(
        self,
        *args: str,
        check: bool = True,
        stdin: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [HELDOUT, *args],
            capture_output=True,
            text=True,
            input=stdin,
            env={**self.env, **(env or {})},
            timeout=300,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"heldout {' '.join(args)} failed:\n{result.stderr}")
        return result

    def cli_json(self, *args: str) -> Any:
        return json.loads(self.cli(*args, "--json").stdout)

    def build(self, kit: str | Path = "churn") -> dict[str, Any]:
        """Build and publish an example kit by name, or any kit folder by path."""
        folder = kit if isinstance(kit, Path) else EXAMPLES / kit
        built: dict[str, Any] = self.cli_json("challenge", "build", str(folder))
        self.cli("challenge", "publish", built["slug"])
        return built

    def database(self) -> Database:
        """The installation's database, as the server and workers see it (dispose after use)."""
        return Database(self.env["HELDOUT_DATABASE_URL"])

    def stored(self, key: str) -> Path:
        """Where the local storage keeps `key` (the embedded default, $HELDOUT_HOME/storage)."""
        return self.home / "storage" / key

    def invite(self, slug: str, email: str) -> str:
        token: str = self.cli_json("invite", slug, email)["token"]
        return token

    def spawn(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        log = (self.home / f"{args[0]}-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen(
            [HELDOUT, *args], env={**self.env, **(env or {})}, stdout=log, stderr=subprocess.STDOUT
        )
        self.processes.append(process)
        return process

    def serve(self) -> None:
        self.spawn("serve", "--port", str(self.port))
        wait_for(self._up, timeout=60)

    def _up(self) -> bool:
        try:
            return requests.get(f"{self.base}/healthz", timeout=1).status_code == 200
        except requests.ConnectionError:
            return False

    def worker(
        self, concurrency: int = 1, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        return self.spawn("worker", "--concurrency", str(concurrency), env=env)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.home.glob("*.log"))
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


class Candidate:
    """The JSON API as a candidate's script would use it."""

    def __init__(self, base: str, token: str) -> None:
        self.base = f"{base}/api/v1"
        self.headers = {"Authorization": f"Bearer {token}"}

    def challenge(self) -> dict[str, Any]:
        response = requests.get(f"{self.base}/challenge", headers=self.headers, timeout=30)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def submit(self, notebook: bytes, name: str = "solution.ipynb") -> requests.Response:
        return requests.post(
            f"{self.base}/submissions",
            headers=self.headers,
            files={"notebook": (name, notebook)},
            timeout=60,
        )

    def status(self, submission_id: int) -> dict[str, Any]:
        response = requests.get(
            f"{self.base}/submissions/{submission_id}", headers=self.headers, timeout=30
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def wait(
        self,
        submission_id: int,
        statuses: tuple[str, ...] = ("scored", "failed"),
        timeout: float = 240,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            current = self.status(submission_id)
            if current["status"] in statuses:
                return current
            time.sleep(0.5)
        raise AssertionError(f"submission {submission_id} still {current['status']}")


def notebook(*cells: str) -> bytes:
    """A notebook of code cells."""
    return json.dumps(
        {
            "cells": [
                {
                    "cell_type": "code",
                    "execution_count": None,
                    "id": f"c{n}",
                    "metadata": {},
                    "outputs": [],
                    "source": src,
                }
                for n, src in enumerate(cells)
            ],
            "metadata": {
                "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    ).encode()
