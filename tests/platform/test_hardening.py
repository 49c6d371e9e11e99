"""Smaller hardening (issue 17, part 8): redirects, headers, file modes, invitation lifetimes."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask

from heldout.platform.app import create_app
from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.errors import InvalidInput
from heldout.platform.services import invitations
from heldout.platform.web.security import safe_next
from tests.factories import make_challenge
from tests.review.conftest import PASSWORD, csrf, login, seed


@pytest.mark.parametrize(
    "target",
    ["/\t/evil.example", "/review/\n/x", "/\\evil.example", "//evil.example", "/review/ x"],
)
def test_next_with_control_characters_or_other_hosts_is_refused(target: str) -> None:
    assert safe_next(target, "/", "/home") == "/home"


def test_next_keeps_same_origin_paths() -> None:
    assert safe_next("/review/c/churn?page=2", "/review/", "/review/") == "/review/c/churn?page=2"


def test_sign_in_never_redirects_to_a_tab_smuggled_host(app: Flask) -> None:
    s = seed(app)
    client = app.test_client()
    csrf(client)
    response = client.post(
        "/review/login",
        data={
            "email": s.reviewer,
            "password": PASSWORD,
            "csrf_token": csrf(client),
            "next": "/review/\t/\t/evil.example",
        },
    )
    assert response.headers["Location"] == "/review/"


def test_notebook_frames_are_sandboxed_even_when_opened_directly(app: Flask) -> None:
    s = seed(app)
    client = app.test_client()
    login(client, s.reviewer)
    response = client.get(f"/review/s/{s.submission_id}/notebook")
    assert response.status_code == 200
    assert "sandbox" in response.headers["Content-Security-Policy"].split("; ")


def test_hsts_is_sent_when_cookies_are_secure(env: dict[str, str]) -> None:
    secure = create_app(
        {"TESTING": True}, config=Config.from_env({**env, "HELDOUT_SECURE_COOKIES": "true"})
    )
    plain = create_app({"TESTING": True}, config=Config.from_env(env))
    assert "max-age=" in secure.test_client().get("/healthz").headers["Strict-Transport-Security"]
    assert "Strict-Transport-Security" not in plain.test_client().get("/healthz").headers
    for each in (secure, plain):
        each.extensions["heldout"].db.dispose()


def test_embedded_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "home" / "heldout.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    database.dispose()
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("days", [0, -1])
def test_invitations_that_never_expire_are_refused(db: Database, config: Config, days: int) -> None:
    with db.session() as session:
        slug = make_challenge(session).slug
    with pytest.raises(InvalidInput, match="positive"):
        invitations.invite(db, config, slug, "ada@example.com", days=days)
    assert invitations.invite(db, config, slug, "ada@example.com", days=3).token


def test_deeply_nested_or_huge_number_json_is_a_400_with_a_sentence(app: Flask) -> None:
    from tests.portal.conftest import csrf_of, invite_to_new_challenge

    client = app.test_client()
    client.get(f"/i/{invite_to_new_challenge(app).token}")
    headers = {"X-CSRF-Token": csrf_of(client), "Content-Type": "application/json"}
    for body in ("[" * 100_000 + "]" * 100_000, '{"size": ' + "9" * 5000 + "}"):
        response = client.post(
            "/explanation/upload", data=body, headers={**headers, "Accept": "application/json"}
        )
        assert response.status_code == 400, body[:20]
        assert " " in response.get_json()["error"]  # a sentence, not a stack trace
    deep = client.post("/explanation/draft", data="[" * 100_000, headers=headers)
    assert deep.status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "page=99999999999999999999",
        "per_page=99999999999999999999999",
        "mark=99999999999999999999",
        "page=-99999999999999999999",
    ],
)
def test_dashboard_parameters_out_of_range_are_not_a_500(app: Flask, query: str) -> None:
    s = seed(app)
    client = app.test_client()
    login(client, s.admin)
    for path in (f"/review/c/{s.slug}", f"/review/c/{s.slug}/distribution.svg", "/review/audit"):
        response = client.get(f"{path}?{query}")
        assert response.status_code in (200, 400), (path, response.status_code)
    baseline = client.get(f"/review/c/{s.slug}/distribution.svg?baseline=nan&mark=1")
    assert baseline.status_code in (200, 400)
