"""The portal over the Flask test client: sessions, CSRF, cookies, ownership, limits, uploads."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from heldout.platform.models import Invitation, utcnow
from heldout.platform.services import invitations
from tests.factories import make_submission
from tests.portal.conftest import (
    Invited,
    csrf_of,
    invite_to_new_challenge,
    notebook,
    switch_to,
)
from tests.services import free_port, wait_for
from tests.web import body

JSON = {"Accept": "application/json"}


def _submit(client: FlaskClient, data: bytes = b"", name: str = "solution.ipynb") -> TestResponse:
    return client.post(
        "/submissions",
        data={"notebook": (io.BytesIO(data or notebook()), name)},
        headers={**JSON, "X-CSRF-Token": csrf_of(client)},
    )


def test_invitation_link_opens_a_session_and_leaves_the_url(
    client: FlaskClient, invited: Invited
) -> None:
    response = client.get(f"/i/{invited.token}")
    assert response.status_code == 303
    assert response.headers["Location"] == "/challenge"
    assert invited.token not in response.headers["Location"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    page = client.get("/challenge")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Predict which customers leave" in html and "<table>" in html  # the rendered brief
    assert invited.token not in html


def test_secure_cookies_when_configured(env: dict[str, str], invited: Invited) -> None:
    from heldout.platform.app import create_app
    from heldout.platform.config import Config

    app = create_app(config=Config.from_env({**env, "HELDOUT_SECURE_COOKIES": "true"}))
    cookie = app.test_client().get(f"/i/{invited.token}").headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie
    app.extensions["heldout"].db.dispose()


def test_without_a_session_pages_send_the_candidate_home(client: FlaskClient) -> None:
    assert client.get("/challenge").headers["Location"] == "/"
    assert "open the personal link" in client.get("/").get_data(as_text=True)
    assert client.get("/submissions.json").status_code == 401


@pytest.mark.parametrize("kind", ["unknown", "revoked", "expired"])
def test_bad_links_explain_what_to_do(
    app: Flask, client: FlaskClient, invited: Invited, kind: str
) -> None:
    sv = app.extensions["heldout"]
    token = invited.token
    if kind == "unknown":
        token = "not-a-real-token"
    elif kind == "revoked":
        invitations.revoke(sv.db, str(invited.invitation_id))
    else:
        with sv.db.session() as session:
            invitation = session.get(Invitation, invited.invitation_id)
            assert invitation is not None
            invitation.expires_at = utcnow() - timedelta(days=1)
    response = client.get(f"/i/{token}")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    assert "This link does not work" in html and "ask for a new link" in html
    said = {"unknown": "not valid", "revoked": "withdrawn", "expired": "expired on"}[kind]
    assert said in html


def test_revoking_ends_an_open_session(
    app: Flask, signed_in: FlaskClient, invited: Invited
) -> None:
    invitations.revoke(app.extensions["heldout"].db, str(invited.invitation_id))
    response = signed_in.get("/submissions")
    assert response.status_code == 403 and "withdrawn" in response.get_data(as_text=True)
    assert signed_in.get("/challenge").headers["Location"] == "/"  # the session is gone


def test_every_form_needs_the_csrf_token(signed_in: FlaskClient) -> None:
    refused = signed_in.post(
        "/submissions", data={"notebook": (io.BytesIO(notebook()), "a.ipynb")}, headers=JSON
    )
    assert refused.status_code == 400 and "expired" in body(refused)["error"]
    assert signed_in.post("/explanation/text", data={"text": "x"}).status_code == 400
    assert signed_in.post("/leave").status_code == 400


def test_submit_then_list_and_detail(signed_in: FlaskClient) -> None:
    response = _submit(signed_in)
    assert response.status_code == 201 and body(response)["status"] == "queued"
    listing = body(signed_in.get("/submissions.json"))
    assert listing["active"] is True and listing["left"] == 2
    assert listing["statuses"] == {str(body(response)["id"]): "queued"}
    assert "Submission" in listing["html"]
    detail = signed_in.get(f"/submissions/{body(response)['id']}").get_data(as_text=True)
    assert "Queued" in detail and "updates by itself" in detail


@pytest.mark.parametrize(
    ("data", "name", "says"),
    [
        (b"{}", "notes.txt", "ends in .ipynb"),
        (b"not json", "a.ipynb", "not valid JSON"),
        (b"x" * (21 * 2**20), "big.ipynb", "the limit is 20 MB"),
    ],
)
def test_the_server_checks_type_and_size_again(
    signed_in: FlaskClient, data: bytes, name: str, says: str
) -> None:
    response = _submit(signed_in, data, name)
    assert response.status_code == 400 and says in body(response)["error"]


def test_submissions_are_rate_limited(signed_in: FlaskClient) -> None:
    codes = [_submit(signed_in, b"not json").status_code for _ in range(11)]
    assert codes[:10] == [400] * 10 and codes[10] == 429


def test_a_candidate_never_reaches_another_candidates_objects(
    app: Flask, client: FlaskClient, invited: Invited
) -> None:
    sv = app.extensions["heldout"]
    other = invite_to_new_challenge(app, "bob@example.com")
    with sv.db.session() as session:
        theirs = make_submission(
            session, session.get(Invitation, other.invitation_id), status="scored"
        ).id
    client.get(f"/i/{invited.token}")
    token = csrf_of(client)
    for path in (
        f"/submissions/{theirs}",
        f"/submissions/{theirs}.json",
        f"/submissions/{theirs}/notebook",
        f"/submissions/{theirs}/executed.ipynb",
    ):
        assert client.get(path).status_code == 404, path
    final = client.post(f"/submissions/{theirs}/final", headers={"X-CSRF-Token": token, **JSON})
    assert final.status_code == 404


def test_final_submission_defaults_to_latest_scored_and_can_be_chosen(
    app: Flask, signed_in: FlaskClient, invited: Invited
) -> None:
    sv = app.extensions["heldout"]
    with sv.db.session() as session:
        invitation = session.get(Invitation, invited.invitation_id)
        first = make_submission(session, invitation, status="scored", public_score=0.7).id
        second = make_submission(session, invitation, status="scored", public_score=0.6).id
        queued = make_submission(session, invitation).id
    rows = body(signed_in.get("/submissions.json"))["html"]
    assert rows.index('class="badge">Final') > rows.index(f'data-id="{second}"')
    token = csrf_of(signed_in)
    refused = signed_in.post(
        f"/submissions/{queued}/final", headers={"X-CSRF-Token": token, **JSON}
    )
    assert refused.status_code == 400 and "only a scored" in body(refused)["error"]
    chosen = signed_in.post(
        f"/submissions/{first}/final", data={"csrf_token": token, "next": "//evil.example"}
    )
    assert chosen.status_code == 303 and chosen.headers["Location"] == "/submissions"
    page = signed_in.get(f"/submissions/{first}").get_data(as_text=True)
    assert "This is your final submission" in page


def test_scored_runs_notebook_is_never_served_to_the_candidate(
    app: Flask, signed_in: FlaskClient, invited: Invited
) -> None:
    """The scored run saw the private rows: only the candidate view's notebook is served."""
    from heldout.platform.models import Run

    sv = app.extensions["heldout"]
    sv.storage.put_bytes("runs/y/executed.ipynb", notebook("print('private rows')"))
    with sv.db.session() as session:
        sub = make_submission(session, session.get(Invitation, invited.invitation_id))
        session.add(
            Run(submission=sub, attempt=1, worker="w", executed_key="runs/y/executed.ipynb")
        )
        sub_id = sub.id
    assert signed_in.get(f"/submissions/{sub_id}/notebook").status_code == 404
    assert signed_in.get(f"/submissions/{sub_id}/executed.ipynb").status_code == 404
    assert "private rows" not in signed_in.get(f"/submissions/{sub_id}").get_data(as_text=True)


def test_executed_notebook_is_served_sanitized_with_a_strict_policy(
    app: Flask, signed_in: FlaskClient, invited: Invited
) -> None:
    sv = app.extensions["heldout"]
    executed = json.loads(notebook("print(1)"))
    executed["cells"][0]["outputs"] = [
        {
            "output_type": "display_data",
            "metadata": {},
            "data": {"text/html": "<script>parent.__pwned=1</script><b>bold</b>"},
        }
    ]
    sv.storage.put_bytes("runs/x/executed.ipynb", json.dumps(executed).encode())
    with sv.db.session() as session:
        sub = make_submission(session, session.get(Invitation, invited.invitation_id))
        # The candidate run's notebook, as the worker's candidate view names it.
        sub.candidate_view = {"failure": None, "executed_key": "runs/x/executed.ipynb"}
        sub_id = sub.id
    response = signed_in.get(f"/submissions/{sub_id}/notebook")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"
    )
    html = response.get_data(as_text=True)
    assert "<b>bold</b>" in html and "<script" not in html
    page = signed_in.get(f"/submissions/{sub_id}").get_data(as_text=True)
    assert 'sandbox=""' in page and f"/submissions/{sub_id}/notebook" in page


def _start(client: FlaskClient, size: int) -> TestResponse:
    return client.post(
        "/explanation/upload",
        json={"size": size},
        headers={**JSON, "X-CSRF-Token": csrf_of(client)},
    )


def _put(client: FlaskClient, upload: str, offset: int, data: bytes) -> TestResponse:
    return client.put(
        f"/explanation/upload/{upload}?offset={offset}",
        data=data,
        headers={**JSON, "X-CSRF-Token": csrf_of(client)},
    )


WEBM = b"\x1a\x45\xdf\xa3" + b"\x00" * 60


def test_chunked_upload_checks_type_size_and_offsets(app: Flask, signed_in: FlaskClient) -> None:
    assert _start(signed_in, 3 * 2**30).status_code == 400  # over the 2 GiB default
    upload = body(_start(signed_in, 6 * 2**20 + len(WEBM)))
    assert upload["received"] == 0 and upload["chunk_size"] == 8 * 2**20
    bad = _put(signed_in, upload["id"], 0, b"%PDF" + b"\0" * (6 * 2**20 + 60))
    assert bad.status_code == 400 and "checked from its contents" in body(bad)["error"]
    assert signed_in.get(f"/explanation/upload/{upload['id']}", headers=JSON).status_code == 404

    upload = body(_start(signed_in, 6 * 2**20 + len(WEBM)))
    first = WEBM + os.urandom(6 * 2**20)
    small = _put(signed_in, upload["id"], 0, first[: 2**20])
    assert small.status_code == 400 and "Only the last chunk" in body(small)["error"]
    assert _put(signed_in, upload["id"], 2**20, first).status_code == 400  # past what arrived
    done = _put(signed_in, upload["id"], 0, first)
    assert done.status_code == 200 and body(done)["complete"] is True
    video = signed_in.get("/explanation/video", headers={"Range": "bytes=0-3"})
    assert video.status_code == 206 and video.data == WEBM[:4]
    assert video.mimetype == "video/webm"


def test_an_upload_id_of_another_candidate_is_not_found(
    app: Flask, client: FlaskClient, invited: Invited
) -> None:
    other = invite_to_new_challenge(app, "eve@example.com")
    client.get(f"/i/{other.token}")
    theirs = body(_start(client, 100))["id"]
    switch_to(client, invited.token)
    assert client.get(f"/explanation/upload/{theirs}", headers=JSON).status_code == 404
    assert _put(client, theirs, 0, WEBM).status_code == 404


def test_draft_autosave_returns_a_sanitized_preview(signed_in: FlaskClient) -> None:
    saved = signed_in.post(
        "/explanation/draft",
        json={"text": "# Plan\r\n<script>x()</script>"},
        headers={**JSON, "X-CSRF-Token": csrf_of(signed_in)},
    )
    assert saved.status_code == 200
    assert "<h1>Plan</h1>" in body(saved)["html"] and "<script" not in body(saved)["html"]
    page = signed_in.get("/explanation").get_data(as_text=True)
    assert "# Plan\n&lt;script&gt;" in page  # the draft is back in the textarea


def test_serve_never_logs_invitation_tokens(tmp_path: Path, invited: Invited) -> None:
    port = free_port()
    env = {
        **os.environ,
        "HELDOUT_HOME": str(tmp_path / "serve"),
        "HELDOUT_SECRET_KEY": "s",
    }
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "heldout"), "serve", "--port", str(port)],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    token = "a-secret-invitation-token-123"
    try:
        wait_for(lambda: _answers(port), timeout=60)
        for path in (f"/i/{token}", f"/i/{token}?x=1"):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}")
            except urllib.error.HTTPError as exc:
                assert exc.code == 403
        time.sleep(0.5)
    finally:
        server.terminate()
        _, log = server.communicate(timeout=30)
    assert "/i/[redacted]" in log
    assert token not in log


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz"):
            return True
    except OSError:
        return False
