"""Rubric reviews: drafts and submission, the blind rules, and agreement per challenge.

Blind and independent: a reviewer sees a candidate's pseudonym only, and no other review of a
submission, until they submit their own review of it. Admins adjudicate, so they see every
submitted review; they see names only after they unblind a submission, which is logged.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import asdict
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from heldout.platform.db import Database
from heldout.platform.errors import InvalidInput, NotFound
from heldout.platform.models import (
    AuditEvent,
    Candidate,
    ChallengeVersion,
    Review,
    Submission,
    User,
    utcnow,
)
from heldout.platform.models.review import RECOMMENDATIONS
from heldout.platform.services import agreement as stats
from heldout.platform.services import audit
from heldout.platform.services.accounts import Account, may_see

SCALE = (1, 2, 3, 4, 5)
MAX_COMMENT = 5_000
# A spread this wide on one criterion, or recommendations on both sides of hire/no-hire,
# is a disagreement worth a conversation.
DISAGREE_SPREAD = 2
RECOMMENDATION_LABELS = {
    "strong_no": "Strong no",
    "no": "No",
    "yes": "Yes",
    "strong_yes": "Strong yes",
}


P = ParamSpec("P")
R = TypeVar("R")


def rubric_for(spec: dict[str, Any]) -> dict[str, Any]:
    """The challenge's [rubric] as plain data, or the default rubric when it has none."""
    rubric = spec.get("rubric")
    if not isinstance(rubric, dict) or not rubric.get("criteria"):
        from heldout.challenges.rubric import DEFAULT_RUBRIC

        rubric = DEFAULT_RUBRIC.to_dict()
    criteria = [
        {
            "name": str(c["name"]),
            "weight": float(c.get("weight", 1)),
            "anchors": [str(a) for a in c.get("anchors", [])],
            "description": str(c.get("description", "")),
        }
        for c in rubric["criteria"]
    ]
    return {"criteria": criteria, "red_flags": [str(f) for f in rubric.get("red_flags", [])]}


def submission_for(session: Session, account: Account, submission_id: int) -> Submission:
    """The submission when the account may see its challenge; NotFound otherwise."""
    submission = session.get(Submission, submission_id)
    if submission is None or not may_see(session, account, submission.version.challenge_id):
        raise NotFound(f"no submission {submission_id} for you")
    return submission


def own_review(session: Session, submission_id: int, reviewer_id: int) -> Review | None:
    return session.scalars(
        select(Review).where(
            Review.submission_id == submission_id, Review.reviewer_id == reviewer_id
        )
    ).first()


def has_submitted(session: Session, account: Account, submission_id: int) -> bool:
    review = own_review(session, submission_id, account.id)
    return review is not None and review.submitted_at is not None


def names_visible(session: Session, account: Account, submission_id: int) -> bool:
    """Names show after your own review is submitted, or after an admin's logged unblinding."""
    if has_submitted(session, account, submission_id):
        return True
    if not account.is_admin:
        return False
    found = session.scalars(
        select(AuditEvent.id).where(
            AuditEvent.user_id == account.id,
            AuditEvent.action == "unblinded",
            AuditEvent.target == f"submission:{submission_id}",
        )
    ).first()
    return found is not None


def others_visible(session: Session, account: Account, submission_id: int) -> bool:
    return account.is_admin or has_submitted(session, account, submission_id)


def unblind(db: Database, account: Account, submission_id: int) -> None:
    """An admin reveals the candidate's name and e-mail for themselves; logged."""
    from heldout.platform.services.accounts import require_admin

    require_admin(account)
    with db.session() as session:
        submission_for(session, account, submission_id)
        audit.record(session, account.id, "unblinded", f"submission:{submission_id}")


def _clean_scores(
    rubric: dict[str, Any], raw: dict[str, dict[str, Any]], final: bool
) -> dict[str, dict[str, Any]]:
    names = [c["name"] for c in rubric["criteria"]]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise InvalidInput(f"unknown criterion {unknown[0]!r}; the rubric has: {', '.join(names)}")
    scores: dict[str, dict[str, Any]] = {}
    for name in names:
        entry = raw.get(name) or {}
        score = entry.get("score")
        if score in (None, ""):
            if final:
                raise InvalidInput(f"Score {name!r} before submitting.")
            score = None
        else:
            try:
                score = int(score)
            except (TypeError, ValueError):
                raise InvalidInput(f"{name!r}: the score must be a whole number") from None
            if score not in SCALE:
                raise InvalidInput(f"{name!r}: the score must be from {SCALE[0]} to {SCALE[-1]}")
        comment = str(entry.get("comment") or "")[:MAX_COMMENT]
        scores[name] = {"score": score, "comment": comment}
    return scores


def _retry_on_conflict(fn: Callable[P, R]) -> Callable[P, R]:
    """Run again once after a unique-constraint race (two tabs saving a first draft at once):
    the second try sees the other insert and updates it, or refuses if it was a submission."""

    @wraps(fn)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except IntegrityError:
            return fn(*args, **kwargs)

    return wrapped


@_retry_on_conflict
def save(
    db: Database,
    account: Account,
    submission_id: int,
    scores: dict[str, dict[str, Any]],
    red_flags: list[str],
    recommendation: str | None,
    comment: str,
    submit: bool,
) -> dict[str, Any]:
    """Save a draft, or submit the review; a submitted review is final."""
    with db.session() as session:
        submission = submission_for(session, account, submission_id)
        rubric = rubric_for(submission.version.spec)
        clean = _clean_scores(rubric, scores, final=submit)
        flags = [f for f in red_flags if f in rubric["red_flags"]]
        if recommendation in ("", None):
            recommendation = None
        elif recommendation not in RECOMMENDATIONS:
            raise InvalidInput(
                f"unknown recommendation {recommendation!r}; valid: {', '.join(RECOMMENDATIONS)}"
            )
        if submit and recommendation is None:
            raise InvalidInput("Choose an overall recommendation before submitting.")
        review = own_review(session, submission_id, account.id)
        if review is not None and review.submitted_at is not None:
            raise InvalidInput("This review is already submitted; submitted reviews are final.")
        if review is None:
            review = Review(submission_id=submission_id, reviewer_id=account.id)
            session.add(review)
        review.scores, review.red_flags = clean, flags
        review.recommendation, review.comment = recommendation, comment[:MAX_COMMENT]
        if submit:
            review.submitted_at = utcnow()
        session.flush()
        audit.record(
            session,
            account.id,
            "scored" if submit else "saved_draft",
            f"submission:{submission_id}",
            {"review_id": review.id, "recommendation": recommendation},
        )
        return review_view(review, rubric)


def rubric_of(db: Database, account: Account, submission_id: int) -> dict[str, Any]:
    with db.session() as session:
        return rubric_for(submission_for(session, account, submission_id).version.spec)


def weighted_total(rubric: dict[str, Any], scores: dict[str, Any]) -> float | None:
    """Weighted mean of the scored criteria on the 1-5 scale; None when nothing is scored."""
    total = weight = 0.0
    for criterion in rubric["criteria"]:
        score = (scores.get(criterion["name"]) or {}).get("score")
        if isinstance(score, int):
            total += score * criterion["weight"]
            weight += criterion["weight"]
    return round(total / weight, 2) if weight else None


def review_view(review: Review, rubric: dict[str, Any], reviewer: str = "") -> dict[str, Any]:
    return {
        "id": review.id,
        "reviewer": reviewer,
        "scores": review.scores,
        "red_flags": review.red_flags,
        "recommendation": review.recommendation,
        "comment": review.comment,
        "submitted_at": review.submitted_at,
        "updated_at": review.updated_at,
        "total": weighted_total(rubric, review.scores),
    }


def reviews_of(
    session: Session, account: Account, submission: Submission, rubric: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """This account's review (draft or submitted) and the others it may see."""
    mine = own_review(session, submission.id, account.id)
    others: list[dict[str, Any]] = []
    if others_visible(session, account, submission.id):
        rows = session.execute(
            select(Review, User.email)
            .join(User, User.id == Review.reviewer_id)
            .where(
                Review.submission_id == submission.id,
                Review.reviewer_id != account.id,
                Review.submitted_at.is_not(None),
            )
            .order_by(Review.submitted_at)
        ).all()
        others = [review_view(r, rubric, email) for r, email in rows]
    return (review_view(mine, rubric) if mine else None), others


def challenge_agreement(db: Database, account: Account, challenge_id: int) -> dict[str, Any]:
    """Per-criterion agreement over submitted reviews, and the disagreements to adjudicate.

    Admins see every disagreement; a reviewer only those on submissions they have reviewed
    themselves, so the list never breaks the independence of a review still to come.
    """
    with db.session() as session:
        versions = session.scalars(
            select(ChallengeVersion)
            .where(ChallengeVersion.challenge_id == challenge_id)
            .order_by(ChallengeVersion.number)
        ).all()
        if not versions:
            raise NotFound("this challenge has no build yet")
        rubric = rubric_for(versions[-1].spec)
        rows = session.execute(
            select(Review, Candidate.pseudonym, User.email)
            .join(Submission, Submission.id == Review.submission_id)
            .join(Candidate, Candidate.id == Submission.candidate_id)
            .join(User, User.id == Review.reviewer_id)
            .where(
                Submission.version_id.in_([v.id for v in versions]),
                Review.submitted_at.is_not(None),
            )
            .order_by(Review.submission_id, Review.reviewer_id)
        ).all()
    names = [c["name"] for c in rubric["criteria"]]
    ratings: dict[str, dict[Hashable, dict[Hashable, float]]] = {n: {} for n in names}
    recs: dict[Hashable, dict[Hashable, float]] = {}
    by_submission: dict[int, dict[str, Any]] = {}
    for review, pseudonym, email in rows:
        for name in names:
            score = (review.scores.get(name) or {}).get("score")
            if isinstance(score, int):
                ratings[name].setdefault(review.submission_id, {})[review.reviewer_id] = score
        if review.recommendation in RECOMMENDATIONS:
            rank = RECOMMENDATIONS.index(review.recommendation) + 1
            recs.setdefault(review.submission_id, {})[review.reviewer_id] = rank
        entry = by_submission.setdefault(
            review.submission_id,
            {"submission_id": review.submission_id, "pseudonym": pseudonym, "reviews": []},
        )
        entry["reviews"].append(
            {
                "reviewer": email,
                "recommendation": review.recommendation,
                "scores": {n: (review.scores.get(n) or {}).get("score") for n in names},
            }
        )
    if not account.is_admin:
        mine = {r.submission_id for r, _, _ in rows if r.reviewer_id == account.id}
        visible = {k: v for k, v in by_submission.items() if k in mine}
    else:
        visible = by_submission
    results = [stats.agreement(n, ratings[n], SCALE) for n in names]
    results.append(stats.agreement("Overall recommendation", recs, (1, 2, 3, 4)))
    return {
        "criteria": [asdict(r) for r in results],
        "disagreements": _disagreements(names, visible),
        "reviewed": sum(1 for e in by_submission.values() if len(e["reviews"]) >= 2),
        "reviews": len(rows),
    }


def _disagreements(names: list[str], by_submission: dict[int, dict[str, Any]]) -> list[Any]:
    found = []
    for entry in by_submission.values():
        if len(entry["reviews"]) < 2:
            continue
        reasons = []
        for name in names:
            scores = [r["scores"][name] for r in entry["reviews"] if r["scores"][name]]
            if len(scores) >= 2 and max(scores) - min(scores) >= DISAGREE_SPREAD:
                reasons.append(f"{name}: {min(scores)} to {max(scores)}")
        hire = {r["recommendation"] in ("yes", "strong_yes") for r in entry["reviews"]}
        if len(hire) == 2:
            reasons.append("recommendations split between hire and no hire")
        if reasons:
            found.append({**entry, "reasons": reasons})
    return found
