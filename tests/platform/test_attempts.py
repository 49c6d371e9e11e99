"""The two caps over the JSON API: scored submissions and attempts, pending runs, grants."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from heldout.platform.cli import main
from heldout.platform.models import AuditEvent, Submission
from heldout.platform.services import invitations
from tests.factories import latest_version, make_challenge
from tests.platform.test_api import auth, submit
from tests.web import body


@pytest.fixture
def slug(app: Flask) -> str:
    sv = app.extensions["heldout"]
    with sv.db.session() as session:
        challenge = make_challenge(session)
        latest_version(challenge).spec = {
            "slug": challenge.slug,
            "limits": {"submissions": 2, "attempts": 3},
            "data": {"id": "id", "target": "y"},
            "metric": {"name": "f1"},
        }
        return challenge.slug


@pytest.fixture
def token(app: Flask, slug: str) -> str:
    sv = app.extensions["heldout"]
    return invitations.invite(sv.db, sv.config, slug, "ada@example.com").token


def finish(app: Flask, submission_id: int, status: str, failure: str | None = None) -> None:
    """What the worker would have written at the end of a run."""
    with app.extensions["heldout"].db.session() as session:
        sub = session.get(Submission, submission_id)
        assert sub is not None
        sub.status, sub.failure = status, failure
        sub.public_score = 0.5 if status == "scored" else None


def counts(client: FlaskClient, token: str) -> tuple[dict[str, int], dict[str, int]]:
    view = body(client.get("/api/v1/challenge", headers=auth(token)))
    return view["submissions"], view["attempts"]


def test_a_failed_run_gives_its_scored_submission_back_but_keeps_its_attempt(
    app: Flask, client: FlaskClient, token: str
) -> None:
    first = body(submit(client, token))["id"]
    scored, attempts = counts(client, token)
    assert (scored["used"], scored["pending"], scored["left"]) == (0, 1, 1)
    assert (attempts["used"], attempts["pending"], attempts["left"]) == (0, 1, 2)
    finish(app, first, "failed", "notebook_error")
    scored, attempts = counts(client, token)
    assert (scored["used"], scored["left"]) == (0, 2)
    assert (attempts["used"], attempts["left"]) == (1, 2)


def test_pending_runs_hold_their_scored_submission_until_they_end(
    app: Flask, client: FlaskClient, token: str
) -> None:
    assert submit(client, token).status_code == 202
    second = body(submit(client, token))["id"]
    refused = submit(client, token)
    assert refused.status_code == 429
    assert "all 2 scored submissions" in body(refused)["error"]
    assert "Submissions page" in body(refused)["error"]
    assert "best" not in body(refused)["error"]
    finish(app, second, "failed", "timeout")
    assert submit(client, token).status_code == 202


def test_attempts_cap_all_runs_failed_ones_included(
    app: Flask, client: FlaskClient, token: str
) -> None:
    for _ in range(3):
        finish(app, body(submit(client, token))["id"], "failed", "invalid_predictions")
    scored, attempts = counts(client, token)
    assert scored["left"] == 2 and attempts["left"] == 0
    refused = submit(client, token)
    assert refused.status_code == 429
    assert "all 3 attempts" in body(refused)["error"]


@pytest.mark.parametrize("fault", ["platform_error", "challenge_error"])
def test_platform_and_challenge_faults_count_against_neither_cap(
    app: Flask, client: FlaskClient, token: str, fault: str
) -> None:
    for _ in range(4):
        finish(app, body(submit(client, token))["id"], "failed", fault)
    scored, attempts = counts(client, token)
    assert (scored["used"], scored["left"]) == (0, 2)
    assert (attempts["used"], attempts["left"]) == (0, 3)


def test_scored_submissions_use_both_caps(app: Flask, client: FlaskClient, token: str) -> None:
    for _ in range(2):
        finish(app, body(submit(client, token))["id"], "scored")
    scored, attempts = counts(client, token)
    assert (scored["used"], scored["left"]) == (2, 0)
    assert (attempts["used"], attempts["left"]) == (2, 1)
    assert submit(client, token).status_code == 429


def test_grant_gives_extra_tries_and_is_audited(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, token: str, slug: str
) -> None:
    for _ in range(2):
        finish(app, body(submit(client, token))["id"], "scored")
    assert submit(client, token).status_code == 429
    result = CliRunner().invoke(main, ["invite", "grant", "ada@example.com", slug, "2"])
    assert result.exit_code == 0, result.output
    assert "granted 2 more tries" in result.output
    scored, attempts = counts(client, token)
    assert (scored["limit"], scored["left"]) == (4, 2)
    assert (attempts["limit"], attempts["left"]) == (5, 3)
    assert submit(client, token).status_code == 202
    with app.extensions["heldout"].db.session() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "granted")).one()
        assert event.detail["email"] == "ada@example.com" and event.detail["extra"] == 2


def test_grant_for_someone_never_invited_says_so(
    runner: FlaskCliRunner, slug: str, token: str
) -> None:
    result = CliRunner().invoke(main, ["invite", "grant", "bob@example.com", slug, "1"])
    assert result.exit_code != 0
    assert "bob@example.com has no invitation" in result.output
