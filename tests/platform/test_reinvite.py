"""A second invitation for the same e-mail and challenge continues the same candidate."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.models import Submission
from heldout.platform.services import invitations
from tests.factories import make_challenge
from tests.platform.test_api import auth, submit, token  # noqa: F401 (the fixture)
from tests.web import body


def _slug(client: FlaskClient, token: str) -> str:  # noqa: F811
    return str(body(client.get("/api/v1/challenge", headers=auth(token)))["slug"])


def test_reinvitation_keeps_history_tries_and_pseudonym_under_a_new_link(
    app: Flask,
    client: FlaskClient,
    token: str,  # noqa: F811
) -> None:
    sv = app.extensions["heldout"]
    first = body(client.get("/api/v1/challenge", headers=auth(token)))
    sent = body(submit(client, token))["id"]
    with sv.db.session() as session:
        found = session.get(Submission, sent)
        assert found is not None
        found.status, found.public_score = "scored", 0.7
    again = invitations.invite(sv.db, sv.config, first["slug"], "Ada@Example.com ")
    assert again.token != token
    view = body(client.get("/api/v1/challenge", headers=auth(again.token)))
    assert view["candidate"]["pseudonym"] == first["candidate"]["pseudonym"]
    assert view["submissions"]["used"] == 1 and view["submissions"]["left"] == 1
    listed = body(client.get("/api/v1/submissions", headers=auth(again.token)))["submissions"]
    assert [s["id"] for s in listed] == [sent]
    # One key per candidate and challenge: the earlier link no longer opens it.
    assert client.get("/api/v1/challenge", headers=auth(token)).status_code == 401


def test_reinviting_a_withdrawn_invitation_opens_it_again(
    app: Flask,
    client: FlaskClient,
    token: str,  # noqa: F811
) -> None:
    sv = app.extensions["heldout"]
    slug = _slug(client, token)
    invitations.revoke(sv.db, "ada@example.com")
    again = invitations.invite(sv.db, sv.config, slug, "ada@example.com")
    assert client.get("/api/v1/challenge", headers=auth(again.token)).status_code == 200


def test_the_same_email_on_another_challenge_is_a_separate_invitation(
    app: Flask,
    client: FlaskClient,
    token: str,  # noqa: F811
) -> None:
    sv = app.extensions["heldout"]
    submit(client, token)
    with sv.db.session() as session:
        other = make_challenge(session).slug
    elsewhere = invitations.invite(sv.db, sv.config, other, "ada@example.com")
    view = body(client.get("/api/v1/challenge", headers=auth(elsewhere.token)))
    assert view["slug"] == other and view["submissions"]["pending"] == 0
    assert client.get("/api/v1/challenge", headers=auth(token)).status_code == 200
