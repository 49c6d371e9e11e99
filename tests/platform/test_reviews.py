"""Rubric reviews: drafts and submission, blind and independent rules, agreement statistics."""

from __future__ import annotations

import pytest
from flask import Flask

from heldout.platform.errors import InvalidInput, NotFound, PermissionDenied
from heldout.platform.services import accounts, audit, reviews, workspace
from heldout.platform.services.accounts import Account
from heldout.platform.services.agreement import agreement, cohen_kappa, krippendorff_alpha
from tests.review.conftest import PASSWORD, Seed, seed


@pytest.fixture
def seeded(app: Flask) -> Seed:
    return seed(app)


# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 observers x 12 units
# example with missing values; the paper gives alpha for each metric.
N = None
KRIPPENDORFF_2011 = list(
    zip(
        [1, 2, 3, 3, 2, 1, 4, 1, 2, N, N, N],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, N, 3],
        [N, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, N],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, N],
        strict=True,
    )
)


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_krippendorff_alpha_matches_the_published_example(level: str, published: float) -> None:
    assert krippendorff_alpha(KRIPPENDORFF_2011, level) == pytest.approx(published, abs=5e-4)


def test_alpha_is_undefined_without_variation_and_rejects_unknown_levels() -> None:
    assert krippendorff_alpha([(3, 3), (3, 3, None)]) is None
    with pytest.raises(ValueError, match="valid: nominal, ordinal, interval"):
        krippendorff_alpha([(1, 2)], "ratio")


def test_quadratic_kappa_of_reversed_uniform_ratings_is_minus_one() -> None:
    # Observed mean squared difference 8, expected 2 * Var(uniform 1..5) = 4: 1 - 8 / 4.
    scale = (1, 2, 3, 4, 5)
    assert cohen_kappa([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], scale) == pytest.approx(-1.0)
    assert cohen_kappa([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], scale) == pytest.approx(1.0)
    assert cohen_kappa([3, 3], [3, 3], scale) is None


def test_agreement_picks_kappa_for_two_raters_and_alpha_for_more() -> None:
    two = agreement("c", {1: {"a": 1, "b": 2}, 2: {"a": 4, "b": 5}, 3: {"a": 3}}, (1, 2, 3, 4, 5))
    assert two.method == "cohen_kappa_quadratic"
    assert (two.raters, two.items) == (2, 2)
    three = agreement("c", {1: {"a": 1, "b": 2, "c": 1}, 2: {"a": 5, "c": 4}}, (1, 2, 3, 4, 5))
    assert three.method == "krippendorff_alpha_ordinal"
    assert three.value == krippendorff_alpha([(1, 2, 1), (5, None, 4)])
    one = agreement("c", {1: {"a": 3}}, (1, 2, 3, 4, 5))
    assert (one.method, one.value) == ("none", None)


def _account(app: Flask, email: str) -> Account:
    found = accounts.authenticate(app.extensions["heldout"].db, email, PASSWORD)
    assert found is not None
    return found


def _submit(
    app: Flask, s: Seed, email: str, methodology: int, rec: str = "yes", sibling: bool = False
) -> None:
    reviews.save(
        app.extensions["heldout"].db,
        _account(app, email),
        s.sibling_id if sibling else s.submission_id,
        {"Methodology": {"score": methodology, "comment": "ok"}, "Communication": {"score": 3}},
        ["Ignores data quality", "not a flag of this rubric"],
        rec,
        "overall",
        submit=True,
    )


def test_draft_then_submit_then_final(app: Flask, seeded: Seed) -> None:
    db = app.extensions["heldout"].db
    me = _account(app, seeded.reviewer)
    draft = reviews.save(
        db, me, seeded.submission_id, {"Methodology": {"score": "4"}}, [], None, "", submit=False
    )
    assert draft["submitted_at"] is None
    assert draft["scores"]["Communication"] == {"score": None, "comment": ""}
    with pytest.raises(InvalidInput, match="Score 'Communication' before submitting"):
        reviews.save(
            db, me, seeded.submission_id, {"Methodology": {"score": 4}}, [], "yes", "", True
        )
    with pytest.raises(InvalidInput, match="from 1 to 5"):
        reviews.save(
            db, me, seeded.submission_id, {"Methodology": {"score": 9}}, [], None, "", False
        )
    with pytest.raises(InvalidInput, match="the rubric has: Methodology, Communication"):
        reviews.save(db, me, seeded.submission_id, {"Speed": {"score": 3}}, [], None, "", False)
    _submit(app, seeded, seeded.reviewer, 4)
    view = workspace.view(db, me, seeded.submission_id)
    assert view["my_review"]["red_flags"] == ["Ignores data quality"]
    assert view["my_review"]["total"] == pytest.approx((4 * 2 + 3) / 3, abs=0.01)
    with pytest.raises(InvalidInput, match="submitted reviews are final"):
        _submit(app, seeded, seeded.reviewer, 2)


def test_names_and_other_reviews_stay_hidden_until_you_submit(app: Flask, seeded: Seed) -> None:
    db = app.extensions["heldout"].db
    _submit(app, seeded, seeded.reviewer, 5)
    second = _account(app, seeded.reviewer2)
    before = workspace.view(db, second, seeded.submission_id)
    assert before["candidate"]["name"] is None and before["candidate"]["email"] is None
    assert before["other_reviews"] == [] and before["others_hidden"]
    _submit(app, seeded, seeded.reviewer2, 1)
    after = workspace.view(db, second, seeded.submission_id)
    assert after["candidate"]["name"] == seeded.candidate_name
    assert after["candidate"]["email"] == seeded.candidate_email
    assert [r["reviewer"] for r in after["other_reviews"]] == [seeded.reviewer]


def test_admins_adjudicate_blind_until_they_unblind_which_is_logged(
    app: Flask, seeded: Seed
) -> None:
    db = app.extensions["heldout"].db
    _submit(app, seeded, seeded.reviewer, 5)
    admin = _account(app, seeded.admin)
    view = workspace.view(db, admin, seeded.submission_id)
    assert view["candidate"]["name"] is None
    assert [r["reviewer"] for r in view["other_reviews"]] == [seeded.reviewer]
    with pytest.raises(PermissionDenied):
        reviews.unblind(db, _account(app, seeded.reviewer2), seeded.submission_id)
    reviews.unblind(db, admin, seeded.submission_id)
    assert workspace.view(db, admin, seeded.submission_id)["candidate"]["name"] == (
        seeded.candidate_name
    )
    events, _ = audit.events(db, action="unblinded")
    assert [(e["user"], e["target"]) for e in events] == [
        (seeded.admin, f"submission:{seeded.submission_id}")
    ]
    # Unblinding is the admin's own: reviewers who have not submitted stay blind.
    assert (
        workspace.view(db, _account(app, seeded.reviewer2), seeded.submission_id)["candidate"][
            "name"
        ]
        is None
    )


def test_unassigned_reviewers_cannot_reach_a_submission(app: Flask, seeded: Seed) -> None:
    db = app.extensions["heldout"].db
    with pytest.raises(NotFound):
        workspace.view(db, _account(app, seeded.outsider), seeded.submission_id)
    with pytest.raises(NotFound):
        _submit(app, seeded, seeded.outsider, 3)


def test_challenge_agreement_with_three_raters_and_its_disagreements(
    app: Flask, seeded: Seed
) -> None:
    db = app.extensions["heldout"].db
    raters = (seeded.reviewer, seeded.reviewer2, seeded.reviewer3)
    for email, score, earlier in zip(raters, (5, 1, 4), (2, 2, 3), strict=True):
        _submit(app, seeded, email, score, "yes" if score > 2 else "no")
        _submit(app, seeded, email, earlier, "no", sibling=True)
    admin = _account(app, seeded.admin)
    challenge_id = workspace.marked_score(db, admin, seeded.submission_id, "public")[0]
    result = reviews.challenge_agreement(db, admin, challenge_id)
    methodology = result["criteria"][0]
    assert methodology["method"] == "krippendorff_alpha_ordinal"
    assert methodology["raters"] == 3
    assert methodology["items"] == 2
    assert methodology["value"] == pytest.approx(krippendorff_alpha([(2, 2, 3), (5, 1, 4)]))
    [found] = result["disagreements"]
    assert "Methodology: 1 to 5" in found["reasons"]
    assert "recommendations split between hire and no hire" in found["reasons"]
    # A reviewer who has not reviewed that submission does not see its disagreement.
    outsider_view = reviews.challenge_agreement(db, _account(app, seeded.outsider), challenge_id)
    assert outsider_view["disagreements"] == []


def test_viewing_and_scoring_are_audited(app: Flask, seeded: Seed) -> None:
    db = app.extensions["heldout"].db
    workspace.view(db, _account(app, seeded.reviewer), seeded.submission_id)
    _submit(app, seeded, seeded.reviewer, 3)
    events, total = audit.events(db)
    actions = [e["action"] for e in events]
    assert actions[:2] == ["scored", "viewed"]
    assert total >= 2


def test_two_tabs_saving_the_first_draft_at_once_do_not_fail(
    app: Flask, seeded: Seed, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = app.extensions["heldout"].db
    me = _account(app, seeded.reviewer)
    reviews.save(db, me, seeded.submission_id, {"Methodology": {"score": 2}}, [], None, "", False)
    real = reviews.own_review
    calls = []

    def not_yet_visible(*args: object) -> object:
        calls.append(1)  # the other tab's insert is not visible to this tab's first read
        return None if len(calls) == 1 else real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(reviews, "own_review", not_yet_visible)
    saved = reviews.save(
        db, me, seeded.submission_id, {"Methodology": {"score": 5}}, [], None, "", False
    )
    assert saved["scores"]["Methodology"]["score"] == 5
    assert len(calls) == 2
