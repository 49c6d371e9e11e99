"""While a submission runs, the API and the portal say its phase and the time so far, and
nothing of the notebook's output."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.models import Submission, utcnow
from tests.platform.test_api import auth, submit, token  # noqa: F401  (the fixture)
from tests.web import body


def _set(app: Flask, sub_id: int, **values: object) -> None:
    with app.extensions["heldout"].db.session() as session:
        sub = session.get(Submission, sub_id)
        assert sub is not None
        for name, value in values.items():
            setattr(sub, name, value)


def test_api_shows_phase_and_running_time_while_it_runs(
    app: Flask,
    client: FlaskClient,
    token: str,  # noqa: F811
) -> None:
    sub_id = body(submit(client, token))["id"]
    url = f"/api/v1/submissions/{sub_id}"
    queued = body(client.get(url, headers=auth(token)))
    assert queued["phase"] == "queued" and queued["running_for_s"] is None

    _set(
        app,
        sub_id,
        status="running",
        started_at=utcnow() - timedelta(seconds=75),
        # What the scored run printed is the reviewers' only: never in a progress answer.
        failure_message="private row 9991 leaked",
        failure_detail={"stdout": "private row 9991"},
    )
    running = body(client.get(url, headers=auth(token)))
    assert running["status"] == running["phase"] == "running"
    assert 75 <= running["running_for_s"] < 90
    assert {"id", "status", "public_score", "failure"} <= set(running)
    assert "9991" not in str(running)

    page = client.get(f"/i/{token}")
    page = client.get(f"/submissions/{sub_id}")
    html = page.get_data(as_text=True)
    assert 'id="running-for"' in html and "1 min 1" in html
    assert "9991" not in html
    rows = body(client.get("/submissions.json"))["html"]
    assert "running for" in rows and "1 min 1" in rows

    _set(app, sub_id, status="scored", public_score=0.5, finished_at=utcnow())
    done = body(client.get(url, headers=auth(token)))
    assert done["phase"] is None and done["running_for_s"] is None
