"""Seed data for the reviewer workspace: a challenge with a rubric, scored submissions,
executed notebooks, explanations, and signed-in clients for each role."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from heldout.platform.models import Explanation, Run, Submission
from heldout.platform.services import accounts
from tests.factories import make_challenge, make_invitation

PASSWORD = "correct horse battery staple"
RUBRIC = {
    "criteria": [
        {"name": "Methodology", "weight": 2, "anchors": ["1: no validation", "5: sound CV"]},
        {"name": "Communication", "weight": 1, "anchors": ["1: unclear", "5: clear"]},
    ],
    "red_flags": ["Ignores data quality"],
}


def notebook(outputs: list[dict[str, Any]] | None = None, markdown: str = "# Analysis") -> bytes:
    """An executed notebook with the given outputs on its one code cell."""
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {"cell_type": "markdown", "id": "m", "metadata": {}, "source": markdown},
                {
                    "cell_type": "code",
                    "id": "c",
                    "metadata": {},
                    "execution_count": 1,
                    "source": "print('hello')",
                    "outputs": outputs
                    or [{"output_type": "stream", "name": "stdout", "text": "hello reviewer\n"}],
                },
            ],
        }
    ).encode()


GRADING: dict[str, Any] = {
    "metric": "f1",
    "score": 0.8,
    "private_score": 0.78,
    "higher_is_better": True,
    "params": {},
    "public": {"score": 0.8, "n": 150, "ci_low": 0.74, "ci_high": 0.85, "baseline": 0.41},
    "private": {"score": 0.78, "n": 150, "ci_low": 0.71, "ci_high": 0.83, "baseline": 0.4},
}

PLOT = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    '<rect width="10" height="10" fill="#00f"/></svg>'
)


@dataclass
class Seed:
    slug: str
    other_slug: str
    submission_id: int
    other_submission_id: int  # in the challenge the unassigned reviewer cannot see
    sibling_id: int
    candidate_name: str
    candidate_email: str
    reviewer: str
    reviewer2: str
    reviewer3: str
    outsider: str
    admin: str
    invitation_id: int


def seed(
    app: Flask,
    outputs: list[dict[str, Any]] | None = None,
    text: str = "I chose **F1** because churn is rare.",
    video: bytes | None = None,
    logs: str = "run log line <b>not bold</b>",
    filename: str = "solution.ipynb",
) -> Seed:
    """A challenge with two scored submissions of one candidate, and four staff accounts."""
    services = app.extensions["heldout"]
    db, storage = services.db, services.storage
    with db.session() as session:
        challenge = make_challenge(session)
        challenge.versions[0].spec = {"slug": challenge.slug, "rubric": RUBRIC}
        other = make_challenge(session)
        invitation = make_invitation(session, challenge=challenge)
        invitation.candidate.name = "Ada Secretname"
        subs = []
        for score in (0.7, 0.8):
            grading = {**GRADING, "public": {**GRADING["public"], "score": score}}
            sub = Submission(
                invitation=invitation,
                candidate=invitation.candidate,
                version=challenge.versions[0],
                notebook_key="submissions/x.ipynb",
                notebook_sha256="a" * 64,
                notebook_size=100,
                status="scored",
                public_score=score,
                private_score=0.78,
                grading=grading,
                filename=filename,
            )
            session.add(sub)
            subs.append(sub)
        other_invitation = make_invitation(session, challenge=other)
        hidden = Submission(
            invitation=other_invitation,
            candidate=other_invitation.candidate,
            version=other.versions[0],
            notebook_key="submissions/y.ipynb",
            notebook_sha256="b" * 64,
            notebook_size=100,
            status="scored",
            public_score=0.5,
            grading=GRADING,
        )
        session.add(hidden)
        session.flush()
        for sub in [*subs, hidden]:
            key = f"runs/{sub.id}/1/executed.ipynb"
            storage.put_bytes(key, notebook(outputs))
            plot_key = f"runs/{sub.id}/1/plots/confusion.svg"
            storage.put_bytes(plot_key, PLOT.encode(), "image/svg+xml")
            sub.grading = {**(sub.grading or {}), "plots": {"confusion": plot_key}}
            session.add(
                Run(
                    submission_id=sub.id,
                    attempt=1,
                    worker="w1",
                    status="succeeded",
                    duration_s=3.2,
                    image_digest="sha256:" + "c" * 64,
                    notebook_sha256="a" * 64,
                    data_sha256="d" * 64,
                    cell_timings=[{"cell": 1, "seconds": 0.01}, {"cell": 2, "seconds": 1.5}],
                    logs=logs,
                    executed_key=key,
                )
            )
        explanation = Explanation(invitation_id=invitation.id, submission_id=subs[1].id, text=text)
        if video is not None:
            explanation.video_key = f"videos/{invitation.id}/v"
            explanation.video_type = "video/webm"
            explanation.video_size = len(video)
            storage.put_bytes(explanation.video_key, video, "video/webm")
        session.add(explanation)
        invitation.final_submission_id = subs[1].id
        ids = (challenge.slug, other.slug, subs[1].id, hidden.id, subs[0].id, invitation.id)
        email = invitation.candidate.email
    emails = {}
    for name, role in (
        ("reviewer", "reviewer"),
        ("reviewer2", "reviewer"),
        ("reviewer3", "reviewer"),
        ("outsider", "reviewer"),
        ("admin", "admin"),
    ):
        address = f"{name}-{ids[5]}@example.com"
        accounts.add_user(db, address, role, PASSWORD)
        if name.startswith("reviewer"):
            accounts.assign(db, address, ids[0])
        emails[name] = address
    return Seed(
        slug=ids[0],
        other_slug=ids[1],
        submission_id=ids[2],
        other_submission_id=ids[3],
        sibling_id=ids[4],
        candidate_name="Ada Secretname",
        candidate_email=email,
        invitation_id=ids[5],
        **emails,
    )


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    """Sign in through the form, with the session's CSRF token."""
    client.get("/review/login")
    with client.session_transaction() as sess:
        token = sess["csrf"]
    return client.post(
        "/review/login", data={"email": email, "password": password, "csrf_token": token}
    )


def csrf(client: FlaskClient) -> str:
    with client.session_transaction() as sess:
        token: str = sess.get("csrf", "")
    if not token:
        client.get("/review/login")
        with client.session_transaction() as sess:
            token = sess["csrf"]
    return token


@pytest.fixture
def seeded(app: Flask) -> Seed:
    return seed(app)


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app on 127.0.0.1 with a random port, in a thread."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
