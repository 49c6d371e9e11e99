"""Staff sessions can be revoked: an old cookie stops working (issue 17, part 2)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.services import accounts
from tests.review.conftest import PASSWORD, Seed, csrf, login, seed


def _signed_in(app: Flask, email: str) -> FlaskClient:
    client = app.test_client()
    assert login(client, email).status_code == 302
    assert client.get("/review/").status_code == 200
    return client


def _copy(app: Flask, client: FlaskClient) -> FlaskClient:
    """A second client holding the same cookie, as a stolen or copied cookie would be."""
    other = app.test_client()
    cookie = client.get_cookie("session")
    assert cookie is not None
    other.set_cookie("session", cookie.value)
    return other


def test_old_cookie_is_refused_after_logout(app: Flask) -> None:
    s = seed(app)
    client = _signed_in(app, s.reviewer)
    stolen = _copy(app, client)
    assert stolen.get("/review/").status_code == 200
    assert client.post("/review/logout", data={"csrf_token": csrf(client)}).status_code == 302
    response = stolen.get("/review/")
    assert response.status_code == 302
    assert "/review/login" in response.headers["Location"]


def test_old_cookie_is_refused_after_a_password_change(app: Flask) -> None:
    s = seed(app)
    client = _signed_in(app, s.reviewer)
    accounts.add_user(app.extensions["heldout"].db, s.reviewer, "reviewer", "a new long password")
    assert client.get("/review/").status_code == 302
    assert login(client, s.reviewer, "a new long password").status_code == 302
    assert client.get("/review/").status_code == 200


def test_old_cookie_is_refused_after_disable(app: Flask, env: dict[str, str]) -> None:
    s = seed(app)
    client = _signed_in(app, s.reviewer)
    result = _heldout(env, "user", "disable", s.reviewer)
    assert result.returncode == 0, result.stderr
    assert "disabled" in result.stdout
    assert client.get("/review/").status_code == 302
    assert login(client, s.reviewer).status_code == 401


def test_unassign_removes_a_challenge_from_an_open_session(app: Flask, env: dict[str, str]) -> None:
    s: Seed = seed(app)
    client = _signed_in(app, s.reviewer)
    assert client.get(f"/review/c/{s.slug}").status_code == 200
    result = _heldout(env, "user", "unassign", s.reviewer, s.slug)
    assert result.returncode == 0, result.stderr
    assert client.get(f"/review/c/{s.slug}").status_code == 404
    again = _heldout(env, "user", "unassign", s.reviewer, s.slug)
    assert "was not assigned" in again.stdout


def test_other_users_sessions_survive_a_logout(app: Flask) -> None:
    s = seed(app)
    reviewer = _signed_in(app, s.reviewer)
    admin = _signed_in(app, s.admin)
    reviewer.post("/review/logout", data={"csrf_token": csrf(reviewer)})
    assert admin.get("/review/").status_code == 200
    assert login(reviewer, s.reviewer, PASSWORD).status_code == 302


def _heldout(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(__file__).parents[2] / ".venv/bin/heldout"
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("HELDOUT_")}, **env}
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, env=full, timeout=120, check=False
    )
