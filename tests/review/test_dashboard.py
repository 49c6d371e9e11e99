"""The challenge dashboard: sorting, filtering, pagination, CSV export and the score plot."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET

import pytest
from flask import Flask
from sqlalchemy import func, select

from heldout.platform.db import Database
from heldout.platform.models import Candidate, Submission
from heldout.platform.services import accounts, audit
from heldout.platform.services import dashboard as dash
from tests.bench.dashboard import PASSWORD, populate
from tests.review.conftest import login

Filled = tuple[Database, int, str, list[int]]  # the database, challenge id, slug, reviewer ids


@pytest.fixture
def filled(app: Flask) -> Filled:
    db: Database = app.extensions["heldout"].db
    return (db, *populate(db, 90))


def test_sorting_puts_missing_scores_last_both_ways(filled: Filled) -> None:
    db, challenge_id, _, reviewers = filled
    for desc in (True, False):
        page = dash.page(
            db, challenge_id, reviewers[0], dash.Query(sort="public", desc=desc, per_page=200)
        )
        scores = [r["public_score"] for r in page.rows]
        present = [s for s in scores if s is not None]
        assert present == sorted(present, reverse=desc)
        assert scores == present + [None] * (len(scores) - len(present))
        assert page.total == 90


def test_pages_follow_each_other_without_overlap(filled: Filled) -> None:
    db, challenge_id, _, reviewers = filled
    seen: list[int] = []
    for number in range(1, 11):
        page = dash.page(db, challenge_id, reviewers[0], dash.Query(page=number, per_page=10))
        seen += [r["id"] for r in page.rows]
        assert page.pages == 9
    assert len(seen) == len(set(seen)) == 90
    assert dash.page(db, challenge_id, reviewers[0], dash.Query(page=10, per_page=10)).rows == []


def test_filters_by_status_review_state_and_pseudonym(filled: Filled) -> None:
    db, challenge_id, _, reviewers = filled
    failed = dash.page(db, challenge_id, reviewers[0], dash.Query(status="failed", per_page=200))
    with db.session() as session:
        expected = session.scalar(
            select(func.count(Submission.id)).where(Submission.status == "failed")
        )
    assert failed.total == expected and {r["status"] for r in failed.rows} <= {"failed"}
    done = dash.page(db, challenge_id, reviewers[0], dash.Query(review="done", per_page=200))
    todo = dash.page(db, challenge_id, reviewers[0], dash.Query(review="todo", per_page=200))
    unreviewed = dash.page(db, challenge_id, reviewers[0], dash.Query(review="unreviewed"))
    assert done.total + todo.total == 90
    assert {r["review_state"] for r in done.rows} == {"submitted"}
    assert all(r["reviews"] == 2 for r in done.rows)
    assert unreviewed.total == todo.total  # both reviewers reviewed the same submissions
    some = done.rows[0]["pseudonym"]
    found = dash.page(db, challenge_id, reviewers[0], dash.Query(q=some[-6:]))
    assert {r["pseudonym"] for r in found.rows} == {some}
    assert found.total == 3  # each candidate has three submissions


def test_bad_dashboard_arguments_are_a_clear_400(app: Flask, filled: Filled) -> None:
    _, _, slug, _ = filled
    client = app.test_client()
    login(client, f"bench0-{slug}@example.com", PASSWORD)
    response = client.get(f"/review/c/{slug}?sort=salary")
    assert response.status_code == 400
    assert b"valid: submitted, public" in response.data


def test_csv_export_has_every_submission_and_review_and_is_audited(
    app: Flask, filled: Filled
) -> None:
    db, _, slug, _ = filled
    with db.session() as session:
        candidate = session.scalars(select(Candidate).order_by(Candidate.id)).first()
        assert candidate is not None
        candidate.pseudonym = '=HYPERLINK("http://evil")'
    client = app.test_client()
    login(client, f"bench0-{slug}@example.com", PASSWORD)
    response = client.get(f"/review/c/{slug}/export.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    reviewed = {r["submission_id"] for r in rows if r["reviewer"]}
    assert len({r["submission_id"] for r in rows}) == 90
    assert len(rows) == 90 + len(reviewed)  # reviewed ones appear once per reviewer
    assert all(r["Methodology"] in "12345" and r["Methodology"] for r in rows if r["reviewer"])
    assert not any(r["candidate"].startswith("=") for r in rows)
    assert all("@" not in r["candidate"] for r in rows)  # pseudonyms only
    events, _ = audit.events(db, action="exported")
    assert len(events) == 1


def test_distribution_plot_marks_the_selected_submission(app: Flask, filled: Filled) -> None:
    db, challenge_id, slug, reviewers = filled
    page = dash.page(db, challenge_id, reviewers[0], dash.Query(sort="public"))
    best = page.rows[0]
    client = app.test_client()
    login(client, f"bench0-{slug}@example.com", PASSWORD)
    response = client.get(f"/review/c/{slug}/distribution.svg?mark={best['id']}&baseline=0.41")
    assert response.mimetype == "image/svg+xml"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    root = ET.fromstring(response.data)  # noqa: S314  (our own server's SVG)
    labels = [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]
    assert f"this {best['public_score']:.3g}" in labels
    assert "baseline 0.41" in labels
    scored = len(dash.scores(db, challenge_id))
    bars = list(root.iter("{http://www.w3.org/2000/svg}rect"))[1:]
    assert sum(1 for b in bars if float(b.get("height", 0)) > 0) >= 1
    assert f"{scored} scored" in " ".join(labels)


def test_distribution_escapes_text() -> None:
    svg = dash.distribution_svg([0.1, 0.2], label="<script>x</script>")
    assert "<script>" not in svg
    ET.fromstring(svg)  # noqa: S314  (built here from numbers)


def test_an_unassigned_reviewer_cannot_mark_a_foreign_submission(
    app: Flask, filled: Filled
) -> None:
    db, _, slug, _ = filled
    accounts.add_user(db, "other@example.com", "reviewer", PASSWORD)
    client = app.test_client()
    login(client, "other@example.com", PASSWORD)
    assert client.get(f"/review/c/{slug}/distribution.svg").status_code == 404
