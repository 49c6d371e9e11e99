"""Staff accounts: hashing, sign-in throttling, sessions, assignments, and `heldout user`."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from flask import Flask

from heldout.platform.db import Database
from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.models import User
from heldout.platform.services import accounts, ratelimits
from tests.factories import make_challenge
from tests.review.conftest import PASSWORD, csrf, login, seed


def test_passwords_are_stored_as_scrypt_hashes(db: Database) -> None:
    made = accounts.add_user(db, "Rev@Example.com", "reviewer", PASSWORD)
    with db.session() as session:
        user = session.get(User, made.id)
        assert user is not None
        assert user.email == "rev@example.com"
        assert user.password_hash.startswith("scrypt:")
        assert PASSWORD not in user.password_hash
    assert accounts.authenticate(db, "rev@example.com", PASSWORD) == made
    assert accounts.authenticate(db, "rev@example.com", PASSWORD + "x") is None
    assert accounts.authenticate(db, "nobody@example.com", PASSWORD) is None


def test_short_passwords_and_unknown_roles_are_refused(db: Database) -> None:
    with pytest.raises(InvalidInput, match="at least 12"):
        accounts.add_user(db, "a@example.com", "reviewer", "short")
    with pytest.raises(InvalidInput, match="valid roles: reviewer, admin"):
        accounts.add_user(db, "a@example.com", "owner", PASSWORD)


def test_adding_again_resets_the_password(db: Database) -> None:
    accounts.add_user(db, "a@example.com", "reviewer", PASSWORD)
    accounts.add_user(db, "a@example.com", "admin", "another long password")
    assert accounts.authenticate(db, "a@example.com", PASSWORD) is None
    found = accounts.authenticate(db, "a@example.com", "another long password")
    assert found is not None and found.is_admin


def test_reviewers_see_assigned_challenges_and_admins_all(db: Database) -> None:
    with db.session() as session:
        first, second = make_challenge(session).slug, make_challenge(session).slug
    reviewer = accounts.add_user(db, "r@example.com", "reviewer", PASSWORD)
    admin = accounts.add_user(db, "a@example.com", "admin", PASSWORD)
    assert accounts.assign(db, "r@example.com", first) is True
    assert accounts.assign(db, "r@example.com", first) is False
    assert [c["slug"] for c in accounts.visible_challenges(db, reviewer)] == [first]
    assert {c["slug"] for c in accounts.visible_challenges(db, admin)} == {first, second}
    with pytest.raises(NotFound, match="heldout user add"):
        accounts.assign(db, "ghost@example.com", first)
    with pytest.raises(NotFound, match="no challenge"):
        accounts.assign(db, "r@example.com", "no-such-slug")


def test_sign_in_is_throttled_per_account_even_with_the_right_password(app: Flask) -> None:
    s = seed(app)
    client = app.test_client()
    for _ in range(ratelimits.FREE_FAILURES):
        assert login(client, s.reviewer, "wrong password!").status_code == 401
    response = login(client, s.reviewer)
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.data


def test_idle_sessions_expire(app: Flask) -> None:
    s = seed(app)
    client = app.test_client()
    login(client, s.reviewer)
    assert client.get("/review/").status_code == 200
    with client.session_transaction() as sess:
        sess["seen_at"] = time.time() - 13 * 3600
    response = client.get("/review/")
    assert response.status_code == 302
    assert "/review/login" in response.headers["Location"]
    with client.session_transaction() as sess:
        assert "user_id" not in sess


def test_logout_is_a_post_that_ends_the_session(app: Flask) -> None:
    s = seed(app)
    client = app.test_client()
    login(client, s.reviewer)
    assert client.get("/review/logout").status_code == 405
    assert client.post("/review/logout", data={"csrf_token": csrf(client)}).status_code == 302
    assert client.get("/review/").status_code == 302


def test_sign_in_redirects_only_inside_the_workspace(app: Flask) -> None:
    s = seed(app)
    client = app.test_client()
    client.get("/review/login")
    with client.session_transaction() as sess:
        token = sess["csrf"]
    for target, expected in (
        (f"/review/c/{s.slug}", f"/review/c/{s.slug}"),
        ("https://evil.example/", "/review/"),
        ("//evil.example/review/", "/review/"),
    ):
        response = client.post(
            "/review/login",
            data={"email": s.reviewer, "password": PASSWORD, "csrf_token": token, "next": target},
        )
        assert response.headers["Location"] == expected
        client.get("/review/login")
        with client.session_transaction() as sess:
            token = sess["csrf"]


def _heldout(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    exe = Path(__file__).parents[2] / ".venv/bin/heldout"
    return subprocess.run(
        [str(exe), *args], input=stdin, capture_output=True, text=True, env=env, timeout=120
    )


def test_cli_adds_assigns_and_lists_users(env: dict[str, str], db: Database) -> None:
    import json
    import os

    with db.session() as session:
        slug = make_challenge(session).slug
    full = {**{k: v for k, v in os.environ.items() if not k.startswith("HELDOUT_")}, **env}
    added = _heldout(
        full,
        "user",
        "add",
        "rev@example.com",
        "--role",
        "reviewer",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert added.returncode == 0, added.stderr
    assert _heldout(full, "user", "assign", "rev@example.com", slug).returncode == 0
    listed = _heldout(full, "user", "list", "--json")
    rows = json.loads(listed.stdout)
    assert rows[0]["email"] == "rev@example.com" and rows[0]["challenges"] == [slug]
    assert accounts.authenticate(db, "rev@example.com", PASSWORD) is not None
    bad = _heldout(
        full,
        "user",
        "add",
        "x@example.com",
        "--role",
        "reviewer",
        "--password-stdin",
        stdin="short\n",
    )
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: The password must be at least 12")


def test_sign_in_is_throttled_per_address_across_accounts(app: Flask) -> None:
    s = seed(app)
    client = app.test_client()
    for n in range(ratelimits.ADDRESS_FAILURES):
        assert login(client, f"guess{n}@example.com", "wrong password!").status_code == 401
    assert login(client, s.reviewer).status_code == 429
