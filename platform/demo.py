"""`heldout demo` / `make demo`: a working installation with an example challenge, end to end.

Builds the churn example, creates an admin reviewer and an invitation, starts the server and a
worker, submits the starter notebook once as a sample, shows it go from queued to scored, and
prints the candidate and reviewer URLs. The sample runs as a separate demo candidate, so the
printed candidate starts with every try left. Everything goes through the public CLI and JSON API.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import click

KIT = "churn"
REVIEWER = "reviewer@example.com"
CANDIDATE = "candidate@example.com"
# Who submits the sample: not the printed candidate, whose tries the sample would spend.
SAMPLE = "sample-run@example.com"


def _heldout() -> str:
    return shutil.which("heldout") or str(Path(sys.executable).parent / "heldout")


def _port(preferred: int) -> int:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", preferred))
            return preferred
        except OSError:
            sock.bind(("127.0.0.1", 0))
            port: int = sock.getsockname()[1]
            return port


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(  # noqa: S603  (our own CLI, arguments from this module)
        [_heldout(), *args], env=env, input=stdin, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise click.ClickException(f"`heldout {' '.join(args)}` failed: {result.stderr.strip()}")
    return result.stdout


def _request(
    url: str, token: str, body: bytes | None = None, content_type: str | None = None
) -> Any:
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")  # noqa: S310
    request.add_header("Authorization", f"Bearer {token}")
    if content_type:
        request.add_header("Content-Type", content_type)
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  (our server)
        return json.loads(response.read())


def _multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
        f'filename="{filename}"\r\nContent-Type: application/json\r\n\r\n'
    ).encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def _wait_up(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(0.3)
    raise click.ClickException(f"the server did not answer at {base}/healthz")


def run(port: int = 5000, keep_running: bool = True) -> dict[str, str]:
    """Set everything up and return the URLs; with `keep_running`, serve until Ctrl-C."""
    from heldout import challenges

    env = dict(os.environ)
    env.setdefault("HELDOUT_HOME", str(Path("instance").resolve()))
    port = _port(port)
    base = f"http://127.0.0.1:{port}"
    env["HELDOUT_BASE_URL"] = base
    kit = Path(challenges.__file__).parent / "examples" / KIT

    click.echo(f"1/5 building the example challenge from {kit} ...", err=True)
    built = json.loads(_cli(env, "challenge", "build", str(kit), "--json"))
    slug = built["slug"]
    _cli(env, "challenge", "publish", slug)

    click.echo("2/5 creating a reviewer account and an invitation ...", err=True)
    password = secrets.token_urlsafe(12)
    existing = json.loads(_cli(env, "user", "list", "--json") or "[]")
    if not any(u.get("email") == REVIEWER for u in existing):
        _cli(
            env,
            "user",
            "add",
            REVIEWER,
            "--role",
            "admin",
            "--password-stdin",
            stdin=password + "\n",
        )
    else:
        password = "(the existing account's password)"  # noqa: S105  (a label, not a secret)
    invitation = json.loads(_cli(env, "invite", slug, CANDIDATE, "--json"))
    sample = json.loads(_cli(env, "invite", slug, SAMPLE, "--json"))

    click.echo(f"3/5 starting the server on {base} and a worker ...", err=True)
    home = Path(env["HELDOUT_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    logs = [(home / "demo-serve.log").open("ab"), (home / "demo-worker.log").open("ab")]
    children = [
        subprocess.Popen(  # noqa: S603  (our own CLI)
            [_heldout(), "serve", "--port", str(port)],
            env=env,
            stdout=logs[0],
            stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(  # noqa: S603  (our own CLI)
            [_heldout(), "worker"], env=env, stdout=logs[1], stderr=subprocess.STDOUT
        ),
    ]
    try:
        _wait_up(base)
        click.echo(f"4/5 submitting the starter notebook as a sample (as {SAMPLE}) ...", err=True)
        body, ctype = _multipart("notebook", "starter.ipynb", (kit / "starter.ipynb").read_bytes())
        token = sample["token"]
        sub = _request(f"{base}/api/v1/submissions", token, body, ctype)
        status, seen = sub["status"], ""
        deadline = time.monotonic() + 600
        while status not in ("scored", "failed") and time.monotonic() < deadline:
            if status != seen:
                click.echo(f"    submission {sub['id']}: {status}", err=True)
                seen = status
            time.sleep(0.5)
            current = _request(f"{base}/api/v1/submissions/{sub['id']}", token)
            status = current["status"]
        click.echo(
            f"    submission {sub['id']}: {status}"
            + (
                f" (public score {current['public_score']:.4f})"
                if status == "scored"
                else f" ({current.get('failure')})"
            ),
            err=True,
        )
        urls = {
            "candidate": invitation["url"],
            "reviewer": f"{base}/review/",
            "reviewer_email": REVIEWER,
            "reviewer_password": password,
        }
        click.echo("5/5 ready.\n")
        click.echo(f"  Candidate portal : {urls['candidate']}")
        click.echo(f"  Reviewer login   : {urls['reviewer']}  ({REVIEWER} / {password})")
        click.echo(
            f"  JSON API         : {base}/api/v1/challenge  "
            "(Authorization: Bearer <token from the candidate URL>)"
        )
        click.echo(f"  Data and logs    : {home}")
        if keep_running:
            click.echo("\nPress Ctrl-C to stop.")
            signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
            while all(child.poll() is None for child in children):
                time.sleep(1)
        return urls
    except KeyboardInterrupt:
        return {}
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(timeout=40)
            except subprocess.TimeoutExpired:
                child.kill()
