"""The candidate JSON API over the Flask test client, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from heldout.platform.services import invitations
from tests.factories import latest_version, make_challenge
from tests.web import body

NOTEBOOK = json.dumps(
    {
        "cells": [
            {
                "cell_type": "code",
                "source": "print(1)",
                "metadata": {},
                "outputs": [],
                "execution_count": None,
            }
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
).encode()


@pytest.fixture
def token(app: Flask) -> str:
    sv = app.extensions["heldout"]
    with sv.db.session() as session:
        challenge = make_challenge(session)
        latest_version(challenge).spec = {
            "slug": challenge.slug,
            "limits": {"submissions": 2},
            "data": {"id": "id", "target": "y"},
            "split": {"private_fraction": 0.5},
            "metric": {"name": "f1"},
        }
        slug = challenge.slug
    return invitations.invite(sv.db, sv.config, slug, "ada@example.com").token


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def submit(client: FlaskClient, token: str, data: bytes = NOTEBOOK) -> TestResponse:
    return client.post(
        "/api/v1/submissions",
        headers=auth(token),
        data={"notebook": (io.BytesIO(data), "solution.ipynb")},
    )


def test_challenge_needs_a_valid_bearer_token(client: FlaskClient, token: str) -> None:
    assert client.get("/api/v1/challenge").status_code == 401
    assert client.get("/api/v1/challenge", headers=auth("nope")).status_code == 401
    ok = client.get("/api/v1/challenge", headers=auth(token))
    assert ok.status_code == 200
    assert body(ok)["submissions"] == {"limit": 2, "used": 0, "left": 2, "pending": 0}
    assert body(ok)["attempts"] == {"limit": 6, "used": 0, "left": 6, "pending": 0}
    assert body(ok)["private_scoring"] is True


def test_submit_returns_202_and_status_without_private_score(
    client: FlaskClient, token: str
) -> None:
    response = submit(client, token)
    assert response.status_code == 202
    assert body(response)["status"] == "queued"
    got = client.get(f"/api/v1/submissions/{body(response)['id']}", headers=auth(token))
    assert got.status_code == 200
    assert set(body(got)) >= {"id", "status", "public_score", "failure"}
    assert "private_score" not in json.dumps(body(got))


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"not json at all", "not valid JSON"),
        (b'{"a": 1}', "not a Jupyter notebook"),
        (
            json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode(),
            "no code to run",
        ),
        (
            json.dumps(
                {
                    "cells": [{"cell_type": "bogus"}],
                    "metadata": {},
                    "nbformat": 4,
                    "nbformat_minor": 5,
                }
            ).encode(),
            "notebook schema",
        ),
    ],
)
def test_invalid_notebooks_are_refused_with_a_reason(
    client: FlaskClient, token: str, data: bytes, says: str
) -> None:
    response = submit(client, token, data)
    assert response.status_code == 400
    assert says in body(response)["error"]


def test_submission_limit_is_enforced(client: FlaskClient, token: str) -> None:
    assert submit(client, token).status_code == 202
    assert submit(client, token).status_code == 202
    refused = submit(client, token)
    assert refused.status_code == 429
    assert "all 2 scored submissions" in body(refused)["error"]
    assert "2 of them are still running" in body(refused)["error"]


def scored_submission(app: Flask, client: FlaskClient, token: str) -> int:
    """Submit, then record it scored as the worker would: the candidate's default final."""
    from heldout.platform.models import Submission

    sub = int(body(submit(client, token))["id"])
    with app.extensions["heldout"].db.session() as session:
        found = session.get(Submission, sub)
        assert found is not None
        found.status, found.public_score = "scored", 0.5
    return sub


def test_candidate_cannot_read_another_candidates_submission(
    app: Flask, client: FlaskClient, token: str
) -> None:
    sv = app.extensions["heldout"]
    slug = invitations.authenticate(sv.db, token).slug
    other = invitations.invite(sv.db, sv.config, slug, "bob@example.com").token
    mine = body(submit(client, token))["id"]
    assert client.get(f"/api/v1/submissions/{mine}", headers=auth(other)).status_code == 404


def test_revoked_and_expired_tokens_are_refused(
    app: Flask, client: FlaskClient, token: str
) -> None:
    sv = app.extensions["heldout"]
    invitations.revoke(sv.db, token)
    response = client.get("/api/v1/challenge", headers=auth(token))
    assert response.status_code == 401
    assert "withdrawn" in body(response)["error"]


WEBM = b"\x1a\x45\xdf\xa3" + b"\x00" * 4096  # an EBML header: what a WebM file starts with


def test_explanation_text_and_video_attach_to_own_submission(
    app: Flask, client: FlaskClient, token: str
) -> None:
    sub = scored_submission(app, client, token)
    url = f"/api/v1/submissions/{sub}/explanation"
    text = client.post(url, headers=auth(token), data={"text": "I chose F1 because..."})
    assert text.status_code == 201 and body(text)["text"] is True
    video = client.post(url, headers=auth(token), data={"video": (io.BytesIO(WEBM), "talk.bin")})
    assert video.status_code == 201
    assert body(video)["video"] is True and body(video)["video_size"] == len(WEBM)


def test_explanation_video_type_comes_from_its_bytes_not_its_name(
    app: Flask, client: FlaskClient, token: str
) -> None:
    sub = scored_submission(app, client, token)
    response = client.post(
        f"/api/v1/submissions/{sub}/explanation",
        headers=auth(token),
        data={"video": (io.BytesIO(b"MZ\x90\x00 not a video" * 10), "talk.mp4")},
    )
    assert response.status_code == 400
    assert "MP4, WebM or MOV" in body(response)["error"]


def test_explanation_needs_a_field_and_an_own_submission(
    app: Flask, client: FlaskClient, token: str
) -> None:
    sub = scored_submission(app, client, token)
    url = f"/api/v1/submissions/{sub}/explanation"
    assert client.post(url, headers=auth(token)).status_code == 400
    sv = app.extensions["heldout"]
    slug = invitations.authenticate(sv.db, token).slug
    other = invitations.invite(sv.db, sv.config, slug, "eve@example.com").token
    assert client.post(url, headers=auth(other), data={"text": "x"}).status_code == 404


def test_an_oversized_upload_is_refused_from_its_declared_length(
    client: FlaskClient, token: str
) -> None:
    # 60 MB against the default 20 MB limit: refused before the body is parsed or stored.
    big = b"x" * (60 * 2**20)
    response = submit(client, token, big)
    assert response.status_code == 413
    assert "far larger than the 20 MB limit" in body(response)["error"]
