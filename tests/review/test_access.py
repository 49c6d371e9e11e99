"""Every route of the review blueprint against every kind of visitor.

The table must name every (endpoint, method) the blueprint registers: a new route without
an entry here fails `test_every_route_is_in_the_matrix`.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.review.conftest import Seed, csrf, login, seed

ROLES = ("anonymous", "candidate", "outsider", "reviewer", "admin")
OUT = 302  # not signed in as staff: sent to the sign-in page

# (endpoint, method): (path from the seed, expected status per role, in ROLES order)
Matrix = dict[tuple[str, str], tuple[Callable[[Seed], str], tuple[int, ...]]]
MATRIX: Matrix = {
    ("review.login", "GET"): (lambda s: "/review/login", (200, 200, 200, 200, 200)),
    # Wrong password for everyone: a sign-in form is public but never a way in.
    ("review.login_post", "POST"): (lambda s: "/review/login", (401, 401, 401, 401, 401)),
    ("review.logout", "POST"): (lambda s: "/review/logout", (OUT, OUT, 302, 302, 302)),
    ("review.index", "GET"): (lambda s: "/review/", (OUT, OUT, 200, 200, 200)),
    ("review.challenge", "GET"): (lambda s: f"/review/c/{s.slug}", (OUT, OUT, 404, 200, 200)),
    ("review.export", "GET"): (
        lambda s: f"/review/c/{s.slug}/export.csv",
        (OUT, OUT, 404, 200, 200),
    ),
    ("review.distribution", "GET"): (
        lambda s: f"/review/c/{s.slug}/distribution.svg?mark={s.submission_id}",
        (OUT, OUT, 404, 200, 200),
    ),
    ("review.agreement", "GET"): (
        lambda s: f"/review/c/{s.slug}/agreement",
        (OUT, OUT, 404, 200, 200),
    ),
    ("review.submission", "GET"): (
        lambda s: f"/review/s/{s.submission_id}",
        (OUT, OUT, 404, 200, 200),
    ),
    ("review.notebook", "GET"): (
        lambda s: f"/review/s/{s.submission_id}/notebook",
        (OUT, OUT, 404, 200, 200),
    ),
    ("review.video", "GET"): (
        lambda s: f"/review/s/{s.submission_id}/video",
        (OUT, OUT, 404, 200, 200),
    ),
    ("review.plot", "GET"): (
        lambda s: f"/review/s/{s.submission_id}/plots/confusion.svg",
        (OUT, OUT, 404, 200, 200),
    ),
    ("review.save_review", "POST"): (
        lambda s: f"/review/s/{s.submission_id}/review",
        (OUT, OUT, 404, 302, 302),
    ),
    ("review.unblind", "POST"): (
        lambda s: f"/review/s/{s.submission_id}/unblind",
        (OUT, OUT, 403, 403, 302),
    ),
    ("review.audit_log", "GET"): (lambda s: "/review/audit", (OUT, OUT, 403, 403, 200)),
}


def test_every_route_is_in_the_matrix(app: Flask) -> None:
    registered = {
        (rule.endpoint, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("review.")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    assert registered == set(MATRIX), (
        f"add to MATRIX: {sorted(registered - set(MATRIX))}; "
        f"stale in MATRIX: {sorted(set(MATRIX) - registered)}"
    )


def _client_as(app: Flask, s: Seed, role: str) -> FlaskClient:
    client = app.test_client()
    if role == "candidate":
        with client.session_transaction() as sess:
            sess["invitation_id"] = s.invitation_id
    elif role != "anonymous":
        address = {"outsider": s.outsider, "reviewer": s.reviewer, "admin": s.admin}[role]
        assert login(client, address).status_code == 302
    return client


@pytest.mark.parametrize("role", ROLES)
def test_access_matrix(app: Flask, role: str) -> None:
    s = seed(app, video=b"\x1a\x45\xdf\xa3" + b"\0" * 64)
    failures = []
    for (endpoint, method), (path, expected) in sorted(MATRIX.items()):
        # A fresh client per route: logout or a failed sign-in must not affect the next row.
        client = _client_as(app, s, role)
        url = path(s)
        if method == "GET":
            response = client.get(url)
        else:
            data = {"csrf_token": csrf(client), "email": s.reviewer, "password": "wrong"}
            response = client.post(url, data=data)
        want = expected[ROLES.index(role)]
        if response.status_code != want:
            failures.append(f"{method} {url} ({endpoint}): {response.status_code}, want {want}")
        if want == OUT and endpoint not in ("review.login", "review.login_post"):
            location = response.headers.get("Location", "")
            if role in ("anonymous", "candidate") and "/review/login" not in location:
                failures.append(f"{method} {url}: redirected to {location!r}, not the sign-in")
    assert not failures, "\n".join(failures)


def test_post_without_csrf_token_is_refused(app: Flask, seeded: Seed) -> None:
    client = app.test_client()
    login(client, seeded.reviewer)
    response = client.post(f"/review/s/{seeded.submission_id}/review", data={"action": "draft"})
    assert response.status_code == 400


def test_candidate_session_never_becomes_staff(app: Flask, seeded: Seed) -> None:
    """A candidate who signs in as staff loses the candidate session: the two never mix."""
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["invitation_id"] = seeded.invitation_id
        sess["csrf"] = "old-token"
    login(client, seeded.reviewer)
    with client.session_transaction() as sess:
        assert "invitation_id" not in sess
        assert sess.get("csrf") != "old-token"
        assert isinstance(sess["user_id"], int)
