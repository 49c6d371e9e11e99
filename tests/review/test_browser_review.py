"""End to end in Chromium: sign in, review a submission with the video playing and seeking,
score the rubric, and see agreement once a second reviewer has submitted."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sklearn.metrics import cohen_kappa_score

from heldout.platform.services import accounts, reviews
from tests.review.browser import record_webm, shot, sign_in
from tests.review.conftest import seed

pytestmark = pytest.mark.browser


def _score(page: Any, scores: tuple[int, int], recommendation: str, action: str) -> None:
    page.check(f"input[name=score-0][value='{scores[0]}']")
    page.check(f"input[name=score-1][value='{scores[1]}']")
    page.fill("#comment-0", "Cross-validation matches deployment.")
    page.check(f"input[name=recommendation][value={recommendation}]")
    page.click(f"button[name=action][value={action}]")


def test_review_end_to_end(app: Flask, browser: Any, live_server: str) -> None:
    s = seed(app, video=record_webm(browser))
    db = app.extensions["heldout"].db
    # The candidate's earlier submission was already reviewed by both reviewers.
    for email, first in ((s.reviewer, 2), (s.reviewer2, 4)):
        reviews.save(
            db,
            _account(db, email),
            s.sibling_id,
            {"Methodology": {"score": first}, "Communication": {"score": 3}},
            [],
            "no",
            "",
            submit=True,
        )

    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    video_statuses: list[int] = []
    page.on(
        "response",
        lambda r: video_statuses.append(r.status) if r.url.endswith("/video") else None,
    )
    sign_in(page, live_server, s.reviewer)
    page.click(f"a[href='/review/c/{s.slug}']")
    page.wait_for_selector("#submissions")
    shot(page, "dashboard")
    page.click(f"#submissions a[href='/review/s/{s.submission_id}'] >> nth=0")
    page.wait_for_selector("#rubric-form")
    page.frame_locator("#notebook").locator("text=hello reviewer").wait_for()
    shot(page, "submission")

    # Blind and independent before submitting.
    assert s.candidate_name not in page.content()
    assert s.candidate_email not in page.content()
    assert page.is_visible("#others-hidden")
    assert page.frame_locator("#notebook").locator("text=hello reviewer").count() == 1

    # The video plays, then seeks by HTTP Range.
    played = page.evaluate(
        """async () => {
            const v = document.getElementById('video');
            v.muted = true;
            await v.play();
            await new Promise(r => { const t = () => v.currentTime > 0.3 ? r() :
                setTimeout(t, 50); t(); });
            v.pause();
            const seeked = new Promise(r => v.addEventListener('seeked', r, {once: true}));
            v.currentTime = 2.0;
            await seeked;
            return {time: v.currentTime, error: v.error && v.error.code};
        }"""
    )
    assert played["error"] is None
    assert played["time"] == pytest.approx(2.0, abs=0.1)
    assert 206 in video_statuses

    # A draft is kept, then the review is submitted and the name appears.
    _score(page, (5, 4), "yes", "draft")
    page.wait_for_selector("text=Draft saved.")
    assert page.is_checked("input[name=score-0][value='5']")
    assert page.input_value("#comment-0") == "Cross-validation matches deployment."
    shot(page, "rubric")
    page.click("#submit-review")
    page.wait_for_selector("text=Review submitted.")
    assert s.candidate_name in page.inner_text("#candidate")
    assert page.inner_text("#my-total") == str(round((5 * 2 + 4) / 3, 2))
    context.close()

    # A second reviewer scores independently, then sees the first review and the agreement.
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    sign_in(page, live_server, s.reviewer2)
    page.goto(f"{live_server}/review/s/{s.submission_id}")
    assert page.is_visible("#others-hidden")
    assert "Cross-validation matches deployment." not in page.content()
    _score(page, (1, 4), "no", "submit")
    page.wait_for_selector("text=Review submitted.")
    assert "Cross-validation matches deployment." in page.content()
    page.goto(f"{live_server}/review/c/{s.slug}/agreement")
    row = page.inner_text("#agreement tbody tr:first-child")
    expected = cohen_kappa_score([2, 5], [4, 1], labels=[1, 2, 3, 4, 5], weights="quadratic")
    assert "Cohen's kappa" in row
    assert page.inner_text("#agreement tbody tr:first-child td:nth-child(5)") == "2"  # shared
    assert f"{expected:.3f}" in row
    assert "Methodology: 1 to 5" in page.inner_text("#disagreements")
    shot(page, "agreement")
    context.close()


def _account(db: Any, email: str) -> accounts.Account:
    from heldout.platform.models import User

    for row in accounts.list_users(db):
        if row["email"] == email:
            with db.session() as session:
                user = session.get(User, int(str(row["id"])))
                version = user.session_version if user is not None else None
            found = accounts.get_account(db, int(str(row["id"])), version)
            assert found is not None
            return found
    raise AssertionError(email)
