"""A 1 GiB explanation video through the portal's resumable upload endpoint over loopback.

The server is `heldout serve` in its own process (local storage, SQLite); the client sends
8 MiB chunks on one keep-alive connection, as the page does. Reported: throughput, and the
server's peak resident memory growth while the video streams to storage. The baseline is the
same werkzeug server running a WSGI app that reads each body in 1 MiB pieces and drops it:
the HTTP path alone, with no storage, database or checks.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from tests.bench import Row
from tests.services import free_port, wait_for

CHUNK = 8 * 2**20
HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"

DISCARD_SERVER = """
import sys
from werkzeug.serving import run_simple

def app(environ, start_response):
    stream = environ["wsgi.input"]
    left = int(environ.get("CONTENT_LENGTH") or 0)
    while left > 0:
        left -= len(stream.read(min(left, 1 << 20)))
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
    return [b"{}"]

run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True)
"""


class PeakRss:
    """Samples a process's resident memory every 10 ms; `peak` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.base = self.process.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return (self.peak - self.base) / 2**20


def _upload(port: int, total: int, headers: dict[str, str], start_path: str | None) -> float:
    """Send `total` bytes in chunks; returns the seconds the chunks took."""
    body = bytearray(os.urandom(CHUNK))
    body[: len(HEAD)] = HEAD
    chunk = bytes(body)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    upload_id = "x"
    if start_path:
        conn.request(
            "POST",
            start_path,
            json.dumps({"size": total}),
            {**headers, "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        upload_id = json.loads(response.read())["id"]
    started = time.perf_counter()
    for offset in range(0, total, CHUNK):
        part = chunk[: min(CHUNK, total - offset)]
        conn.request("PUT", f"/explanation/upload/{upload_id}?offset={offset}", part, headers)
        response = conn.getresponse()
        payload = response.read()
        if response.status != 200:
            raise RuntimeError(f"chunk at {offset}: {response.status} {payload[:200]!r}")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def _session(port: int, token: str) -> dict[str, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", f"/i/{token}")
    response = conn.getresponse()
    response.read()
    cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    conn.request("GET", "/explanation", headers={"Cookie": cookie})
    response = conn.getresponse()
    page = response.read().decode()
    cookie = (response.getheader("Set-Cookie") or cookie).split(";", 1)[0]
    token_match = re.search(r'name="csrf-token" content="([^"]+)"', page)
    if not token_match:
        raise RuntimeError("no CSRF token on the explanation page")
    conn.close()
    return {"Cookie": cookie, "X-CSRF-Token": token_match.group(1), "Accept": "application/json"}


def _invite(home: Path) -> str:
    from heldout.platform.config import Config
    from heldout.platform.db import Database
    from heldout.platform.services import invitations
    from tests.factories import make_challenge

    config = Config.from_env({"HELDOUT_HOME": str(home), "HELDOUT_SECRET_KEY": "bench"})
    db = Database(config.database_url)
    db.upgrade()
    with db.session() as session:
        slug = make_challenge(session).slug
    token = invitations.invite(db, config, slug, "bench@example.com").token
    db.dispose()
    return token


def _serve(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def answers() -> bool:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            conn.getresponse().read()
            return True
        except OSError:
            return False

    wait_for(answers, timeout=60)
    return server


def _disk_write(directory: Path, total: int) -> float:
    """Seconds to write `total` bytes in 8 MiB writes to the storage's own disk (the ceiling)."""
    block = os.urandom(CHUNK)
    path = directory / "disk-probe.bin"
    started = time.perf_counter()
    with path.open("wb", buffering=0) as out:
        for _ in range(0, total, CHUNK):
            out.write(block)
    elapsed = time.perf_counter() - started
    path.unlink()
    return elapsed


def run(quick: bool) -> list[Row]:
    total = (128 if quick else 1024) * 2**20
    home = Path(tempfile.mkdtemp(prefix="heldout-bench-upload-"))
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("HELDOUT_")},
        "HELDOUT_HOME": str(home),
        "HELDOUT_SECRET_KEY": "bench",
        "HELDOUT_MAX_VIDEO_MB": "4096",
    }
    heldout = str(Path(sys.executable).parent / "heldout")
    try:
        token = _invite(home)
        port = free_port()
        server = _serve([heldout, "serve", "--port", str(port)], env, port)
        try:
            headers = _session(port, token)
            _upload(port, CHUNK + 1000, headers, "/explanation/upload")  # warm up
            memory = PeakRss(server.pid)
            seconds = _upload(port, total, headers, "/explanation/upload")
            growth = memory.stop()
        finally:
            server.terminate()
            server.wait(timeout=30)
        stored = list((home / "storage" / "videos").rglob("*"))
        if not any(p.is_file() and p.stat().st_size == total for p in stored):
            raise RuntimeError("the uploaded video is not in storage at its full size")

        port = free_port()
        plain = _serve([sys.executable, "-c", DISCARD_SERVER, str(port)], env, port)
        try:
            baseline_s = _upload(port, total, {}, None)
        finally:
            plain.terminate()
            plain.wait(timeout=30)
        disk_s = _disk_write(home, total)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    mib = total / 2**20
    size = f"{mib:.0f} MiB in 8 MiB chunks"
    return [
        Row(
            "upload: video throughput",
            mib / seconds,
            mib / baseline_s,
            "MiB/s",
            ">= 200",
            f"{size}; baseline: same HTTP server discarding the body",
        ),
        Row(
            "upload: disk write ceiling",
            mib / disk_s,
            None,
            "MiB/s",
            "-",
            f"{size} written straight to a file on the same disk (no HTTP, no checks)",
        ),
        Row(
            "upload: server memory growth",
            growth,
            None,
            "MiB",
            "< 64",
            f"peak RSS of `heldout serve` during the {size} upload",
        ),
    ]
