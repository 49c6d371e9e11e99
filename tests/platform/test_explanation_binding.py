"""The explanation is bound to the final submission: attaching elsewhere is explicit, and the
default final (the latest scored) is the same in the portal, the API and the reviewer's pages."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from heldout.platform.models import Explanation, Submission, User
from heldout.platform.services import workspace
from heldout.platform.services.accounts import Account
from heldout.platform.services.finals import final_submission_id
from tests.factories import make_submission, make_user
from tests.platform.test_api import auth, scored_submission, submit, token  # noqa: F401
from tests.web import body


def _fail(app: Flask, sub: int) -> None:
    with app.extensions["heldout"].db.session() as session:
        found = session.get(Submission, sub)
        assert found is not None
        found.status, found.failure = "failed", "notebook_error"


def _explain(
    client: FlaskClient,
    token: str,  # noqa: F811
    sub: int,
    **extra: str,
) -> tuple[int, dict[str, str]]:
    response = client.post(
        f"/api/v1/submissions/{sub}/explanation",
        headers=auth(token),
        data={"text": f"why #{sub}", **extra},
    )
    return response.status_code, body(response)


def _bound(app: Flask) -> tuple[int | None, str]:
    with app.extensions["heldout"].db.session() as session:
        found = session.scalars(select(Explanation)).one()
        return found.submission_id, found.text


def test_explaining_a_failed_later_submission_leaves_the_finals_explanation(
    app: Flask,
    client: FlaskClient,
    token: str,  # noqa: F811
) -> None:
    final = scored_submission(app, client, token)
    assert _explain(client, token, final)[0] == 201
    later = body(submit(client, token))["id"]
    _fail(app, later)
    status, answer = _explain(client, token, later)
    assert status == 409
    assert (
        f"attached to submission {final}" in answer["error"] and "replace=true" in answer["error"]
    )
    assert _bound(app) == (final, f"why #{final}")


def test_a_submission_that_is_not_the_final_is_refused_until_replace_is_sent(
    app: Flask,
    client: FlaskClient,
    token: str,  # noqa: F811
) -> None:
    final = scored_submission(app, client, token)
    pending = body(submit(client, token))["id"]
    status, answer = _explain(client, token, pending)
    assert status == 409
    assert (
        f"Submission {pending} is not your final submission (submission {final} is)"
        in (answer["error"])
    )
    assert _explain(client, token, pending, replace="true")[0] == 201
    assert _bound(app) == (pending, f"why #{pending}")
    # With an explanation on #pending, the final one is refused too unless it says replace.
    assert _explain(client, token, final)[0] == 409
    assert _explain(client, token, final, replace="true")[0] == 201
    assert _bound(app) == (final, f"why #{final}")


def test_default_final_is_the_latest_scored_in_portal_api_and_review(
    app: Flask,
    client: FlaskClient,
    token: str,  # noqa: F811
) -> None:
    scored_submission(app, client, token)
    latest = scored_submission(app, client, token)
    sv = app.extensions["heldout"]
    with sv.db.session() as session:
        found = session.get(Submission, latest)
        assert found is not None
        # A newer failed run (beyond the scored cap, so made directly): not the default final.
        make_submission(session, found.invitation, status="failed", failure="timeout")
        invitation_id = found.invitation_id
        assert final_submission_id(session, invitation_id) == latest
        admin: User = make_user(session, role="admin")
        admin_id = admin.id
    # The API attaches to it without replace; the reviewer sees it as final.
    assert _explain(client, token, latest)[0] == 201
    reviewer = Account(admin_id, "admin@example.com", "", "admin")
    view = workspace.view(sv.db, reviewer, latest)
    assert view["is_final"] is True
    assert [o["is_final"] for o in view["others"]] == [False, False]
    assert view["explanation"]["for_submission"] == latest
    # The portal marks the same one.
    with client.session_transaction() as flask_session:
        flask_session["invitation_id"] = invitation_id
    listing = client.get("/submissions.json", headers={"Accept": "application/json"})
    rows = {
        int(row.split('"', 1)[0]): row
        for row in str(body(listing)["html"]).split('<tr data-id="')[1:]
    }
    assert [sub for sub, row in rows.items() if 'class="badge">Final' in row] == [latest]
