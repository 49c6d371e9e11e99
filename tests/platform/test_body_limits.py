"""Request bodies are bounded before anything reads or stores them (issue 17, part 1)."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.app import create_app
from heldout.platform.config import Config
from tests.portal.conftest import Invited, csrf_of, invite_to_new_challenge
from tests.services import free_port, wait_for

MIB = 2**20


class Untouchable(io.BytesIO):
    """A request body that records whether anything read it."""

    read_from = False

    def read(self, size: int | None = -1) -> bytes:
        self.read_from = True
        return super().read(size)

    def read1(self, size: int | None = -1) -> bytes:
        self.read_from = True
        return super().read1(size)

    def readinto(self, buffer: Any) -> int:
        self.read_from = True
        return super().readinto(buffer)

    def readline(self, size: int | None = -1) -> bytes:
        self.read_from = True
        return super().readline(size)


def test_oversize_sign_in_form_is_answered_413(client: FlaskClient) -> None:
    client.get("/review/login")
    response = client.post("/review/login", data={"email": "a@b.c", "password": "x" * (2 * MIB)})
    assert response.status_code == 413


def test_oversize_body_to_an_unknown_path_is_answered_413(client: FlaskClient) -> None:
    assert client.post("/no/such/page", data="x" * (2 * MIB)).status_code == 413


def test_post_without_a_session_token_is_refused_unread(client: FlaskClient) -> None:
    body = Untouchable(b"csrf_token=guess&email=a%40b.c")
    response = client.post(
        "/review/login", input_stream=body, content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert not body.read_from


def test_huge_json_draft_is_answered_413(client: FlaskClient, invited: Invited) -> None:
    client.get(f"/i/{invited.token}")
    response = client.post(
        "/explanation/draft",
        data=json.dumps({"text": "x" * (3 * MIB)}),
        headers={"X-CSRF-Token": csrf_of(client), "Content-Type": "application/json"},
    )
    assert response.status_code == 413


def test_api_explanation_is_capped_at_the_video_limit(
    env: dict[str, str], invited_small: tuple[FlaskClient, Invited]
) -> None:
    client, invited = invited_small
    response = client.post(
        "/api/v1/submissions/1/explanation",
        data={"text": "y" * (4 * MIB)},
        headers={"Authorization": f"Bearer {invited.token}"},
    )
    assert response.status_code == 413


def test_video_chunks_up_to_the_largest_chunk_are_accepted(
    client: FlaskClient, invited: Invited
) -> None:
    client.get(f"/i/{invited.token}")
    headers = {"X-CSRF-Token": csrf_of(client), "Accept": "application/json"}
    head = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
    size = 9 * MIB
    started = client.post("/explanation/upload", json={"size": size}, headers=headers)
    assert started.status_code == 201, started.get_data(as_text=True)
    upload = started.get_json()["id"]
    chunk = head + b"\0" * (size - len(head))
    sent = client.put(f"/explanation/upload/{upload}?offset=0", data=chunk, headers=headers)
    assert sent.status_code == 200, sent.get_data(as_text=True)
    assert sent.get_json()["complete"]


@pytest.fixture
def invited(app: Flask) -> Invited:
    return invite_to_new_challenge(app)


@pytest.fixture
def invited_small(env: dict[str, str]) -> Iterator[tuple[FlaskClient, Invited]]:
    app: Flask = create_app(
        {"TESTING": True}, config=Config.from_env({**env, "HELDOUT_MAX_VIDEO_MB": "1"})
    )
    yield app.test_client(), invite_to_new_challenge(app)
    app.extensions["heldout"].db.dispose()


# ---------------------------------------------------------------- a real `heldout serve`


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    tmpdir: Path

    def spooled(self) -> list[str]:
        """Files the server has open in its temporary directory (spooled request bodies)."""
        found = []
        fds = Path(f"/proc/{self.process.pid}/fd")
        for fd in fds.iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith(str(self.tmpdir)):
                found.append(target)
        return found

    def rss(self) -> int:
        return int(psutil.Process(self.process.pid).memory_info().rss)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Server, str]]:
    home, tmpdir = tmp_path / "home", tmp_path / "tmp"
    tmpdir.mkdir()
    env = {
        **os.environ,
        "HELDOUT_HOME": str(home),
        "HELDOUT_SECRET_KEY": "limits",
        "TMPDIR": str(tmpdir),
    }
    config = Config.from_env({"HELDOUT_HOME": str(home), "HELDOUT_SECRET_KEY": "limits"})
    app = create_app({"TESTING": True}, config=config)
    token = invite_to_new_challenge(app).token
    app.extensions["heldout"].db.dispose()
    port = free_port()
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "heldout"), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: _status(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") == 200, 60)
        yield Server(process, port, tmpdir), token
    finally:
        process.terminate()
        process.wait(timeout=30)


def _status(port: int, head: bytes, body: Iterator[bytes] | None = None) -> int:
    """Send `head`, stream `body` beside reading the answer; the answer's status code."""
    try:
        sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    except OSError:
        return 0

    def send() -> None:
        try:
            for piece in body or ():
                sock.sendall(piece)
        except OSError:
            pass  # the server answered and closed: what these tests want

    with sock:
        sock.sendall(head)
        sender = threading.Thread(target=send, daemon=True)
        sender.start()
        answer = b""
        while b"\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
        sender.join(timeout=30)
    found = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    return int(found.group(1)) if found else 0


def _session(port: int, token: str) -> tuple[str, str]:
    """A candidate's cookie and CSRF token on the live server."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", f"/i/{token}")
    response = conn.getresponse()
    response.read()
    cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    conn.request("GET", "/explanation", headers={"Cookie": cookie})
    response = conn.getresponse()
    page = response.read().decode()
    cookie = (response.getheader("Set-Cookie") or cookie).split(";", 1)[0]
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found, "the explanation page carries a CSRF token"
    conn.close()
    return cookie, found.group(1)


def _pieces(total: int, piece: bytes, chunked: bool) -> Iterator[bytes]:
    for _ in range(total // len(piece)):
        yield (b"%x\r\n" % len(piece) + piece + b"\r\n") if chunked else piece
    if chunked:
        yield b"0\r\n\r\n"


class Watch:
    """Polls the server, for the test's length, for spooled files and its peak memory."""

    def __init__(self, server: Server) -> None:
        self.server, self.files, self.peak = server, set[str](), server.rss()
        self.base = self.peak
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.005):
            self.files.update(self.server.spooled())
            self.peak = max(self.peak, self.server.rss())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def test_oversize_bodies_are_answered_413_without_spooling_or_memory_growth(
    server: tuple[Server, str],
) -> None:
    live, token = server
    cookie, csrf = _session(live.port, token)
    piece = b"-" * MIB
    boundary = "b0undary"
    form_head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    multipart = f"multipart/form-data; boundary={boundary}"
    watch = Watch(live)
    try:
        # A 1 GiB sign-in form and a 1 GiB post to a page that does not exist, announced.
        for path in ("/review/login", "/nowhere"):
            head = (
                f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {multipart}\r\n"
                f"Content-Length: {2**30}\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\n\r\n"
            ).encode()
            body = iter([form_head, *_pieces(64 * MIB, piece, chunked=False)])
            assert _status(live.port, head, body) == 413, path
        # 400 MB of JSON draft and a 64 MiB file in a form, sent chunked (no Content-Length)
        # by a signed-in candidate with a valid CSRF token.
        for content_type, first in (("application/json", b'{"text": "'), (multipart, form_head)):
            head = (
                "POST /explanation/draft HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                f"Content-Type: {content_type}\r\nCookie: {cookie}\r\nX-CSRF-Token: {csrf}\r\n"
                "\r\n"
            ).encode()
            total = 400 * MIB if content_type == "application/json" else 64 * MIB
            body = iter(
                [b"%x\r\n" % len(first) + first + b"\r\n", *_pieces(total, piece, chunked=True)]
            )
            assert _status(live.port, head, body) == 413, content_type
        time.sleep(0.2)
    finally:
        watch.stop()
    assert watch.files == set(), "request bodies were spooled to disk"
    growth = (watch.peak - watch.base) / MIB
    assert growth < 64, f"the server grew by {growth:.0f} MiB"
