"""A challenge's dashboard: one paginated, sorted, filtered query; CSV export; score summaries.

The page query does everything in SQL (filters, review counts, the reviewer's own review
state, ordering, LIMIT/OFFSET and the total through a window count), so a page costs the
same with 10 or 10,000 submissions beyond the database's own sort.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import aliased

from heldout.platform.db import Database
from heldout.platform.errors import InvalidInput
from heldout.platform.models import Candidate, ChallengeVersion, Review, Submission, User
from heldout.platform.models.submission import STATUSES

SORTS = ("submitted", "public", "private", "candidate", "status", "reviews")
REVIEW_FILTERS = ("", "todo", "done", "unreviewed")
PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_PAGE = 1_000_000


@dataclass(frozen=True)
class Query:
    """What the reviewer asked for: parsed and checked from the URL by `from_args`."""

    sort: str = "submitted"
    desc: bool = True
    status: str = ""
    review: str = ""
    q: str = ""
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def from_args(cls, args: dict[str, str]) -> Query:
        sort = args.get("sort", "submitted")
        status = args.get("status", "")
        review = args.get("review", "")
        if sort not in SORTS:
            raise InvalidInput(f"unknown sort {sort!r}; valid: {', '.join(SORTS)}")
        if status and status not in STATUSES:
            raise InvalidInput(f"unknown status {status!r}; valid: {', '.join(STATUSES)}")
        if review not in REVIEW_FILTERS:
            raise InvalidInput(f"unknown review filter {review!r}")
        try:
            # Capped: a page past any real dashboard is empty, never an integer overflow.
            page = min(max(int(args.get("page", 1)), 1), MAX_PAGE)
            per_page = min(max(int(args.get("per_page", PER_PAGE)), 1), MAX_PER_PAGE)
        except ValueError:
            raise InvalidInput("page and per_page must be whole numbers") from None
        return cls(
            sort=sort,
            desc=args.get("dir", "desc") != "asc",
            status=status,
            review=review,
            q=args.get("q", "").strip()[:100],
            page=page,
            per_page=per_page,
        )


@dataclass
class Page:
    rows: list[dict[str, Any]]
    total: int
    query: Query
    grading: dict[str, Any] = field(default_factory=dict)  # summary() of a recent grading

    @property
    def pages(self) -> int:
        return max((self.total + self.query.per_page - 1) // self.query.per_page, 1)


def _versions(challenge_id: int) -> Select[Any]:
    return select(ChallengeVersion.id).where(ChallengeVersion.challenge_id == challenge_id)


def _review_counts() -> Any:
    return (
        select(Review.submission_id, func.count(Review.id).label("n"))
        .where(Review.submitted_at.is_not(None))
        .group_by(Review.submission_id)
        .subquery("rc")
    )


def page(db: Database, challenge_id: int, reviewer_id: int, query: Query) -> Page:
    """One page of the dashboard: one SQL statement for the rows and one for the count.

    The inner query filters, sorts and cuts the page touching only the tables a filter or
    sort needs; the outer query joins candidates, review counts and gradings for those rows
    only, so 10,000 submissions cost one narrow sort rather than 10,000 joins.
    """
    counts = _review_counts()
    mine = aliased(Review, name="mine")
    needs_candidate = bool(query.q) or query.sort == "candidate"
    needs_mine = query.review in ("todo", "done")
    needs_counts = query.review == "unreviewed" or query.sort == "reviews"
    key: Any = {
        "submitted": Submission.created_at,
        "public": Submission.public_score,
        "private": Submission.private_score,
        "candidate": Candidate.pseudonym,
        "status": Submission.status,
        "reviews": func.coalesce(counts.c.n, 0),
    }[query.sort]
    base = select(Submission.id).where(Submission.version_id.in_(_versions(challenge_id)))
    if needs_candidate:
        base = base.join(Candidate, Candidate.id == Submission.candidate_id)
    if needs_mine:
        base = base.outerjoin(
            mine, and_(mine.submission_id == Submission.id, mine.reviewer_id == reviewer_id)
        )
    if needs_counts:
        base = base.outerjoin(counts, counts.c.submission_id == Submission.id)
    if query.status:
        base = base.where(Submission.status == query.status)
    if query.q:
        base = base.where(Candidate.pseudonym.ilike(f"%{query.q}%"))
    if query.review == "todo":
        base = base.where(mine.submitted_at.is_(None))
    elif query.review == "done":
        base = base.where(mine.submitted_at.is_not(None))
    elif query.review == "unreviewed":
        base = base.where(counts.c.n.is_(None))
    ordered = key.desc() if query.desc else key.asc()
    inner = (
        base.add_columns(key.label("k"))
        .order_by(key.is_(None), ordered, Submission.id.desc())  # missing scores last
        .limit(query.per_page)
        .offset((query.page - 1) * query.per_page)
        .subquery("p")
    )
    own = aliased(Review, name="own")
    submitted_reviews = (
        select(func.count(Review.id))
        .where(Review.submission_id == Submission.id, Review.submitted_at.is_not(None))
        .scalar_subquery()
    )
    outer_key = inner.c.k.desc() if query.desc else inner.c.k.asc()
    stmt = (
        select(
            Submission.id,
            Submission.status,
            Submission.failure,
            Submission.public_score,
            Submission.private_score,
            Submission.created_at,
            Submission.candidate_id,
            Submission.grading,
            Candidate.pseudonym,
            submitted_reviews.label("reviews"),
            own.id.label("my_review"),
            own.submitted_at.label("my_submitted_at"),
        )
        .select_from(inner)
        .join(Submission, Submission.id == inner.c.id)
        .join(Candidate, Candidate.id == Submission.candidate_id)
        .outerjoin(own, and_(own.submission_id == Submission.id, own.reviewer_id == reviewer_id))
        .order_by(inner.c.k.is_(None), outer_key, Submission.id.desc())
    )
    # The count is its own statement: a window count over the page query would make SQLite
    # materialize every filtered row twice (measured: twice the time of the page itself).
    counter = select(func.count()).select_from(base.subquery())
    with db.session() as session:
        rows = [dict(r) for r in session.execute(stmt).mappings().all()]
        total = int(session.scalar(counter) or 0)
    grading: dict[str, Any] = {}
    for row in rows:
        row["review_state"] = (
            "submitted" if row["my_submitted_at"] else "draft" if row["my_review"] else "none"
        )
        grading = grading or row["grading"] or {}
        scores = summary(row.pop("grading") or {})
        # Formatted here once: a template macro per cell was a third of the page's time.
        row["public_text"] = score_text(row["public_score"], scores["public"])
        row["private_text"] = score_text(row["private_score"], scores["private"])
        row["submitted_text"] = row["created_at"].strftime("%Y-%m-%d %H:%M UTC")
    # Baselines are the same for every submission of a version: any graded row shows them.
    return Page(rows, total, query, summary(grading))


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def split_summary(grading: dict[str, Any], split: str) -> dict[str, float | int | None]:
    """Score, bootstrap interval, row count and baseline of one split (grader's `SplitScore`)."""
    part = grading.get(split)
    if not isinstance(part, dict):
        part = {}
    return {
        "score": _number(part.get("score")),
        "low": _number(part.get("ci_low")),
        "high": _number(part.get("ci_high")),
        "baseline": _number(part.get("baseline")),
        "n": part.get("n") if isinstance(part.get("n"), int) else None,
    }


def score_text(value: float | None, split: dict[str, Any]) -> str:
    """`0.8123 [0.790, 0.834]`: the score with its interval when the grader gave one."""
    if value is None:
        return "–"
    text = f"{value:.4f}"
    if split.get("low") is not None and split.get("high") is not None:
        text += f" [{split['low']:.3f}, {split['high']:.3f}]"
    return text


def summary(grading: dict[str, Any]) -> dict[str, Any]:
    """What reviewers see of a grading: metric, direction, both splits, plot names."""
    plots = grading.get("plots")
    return {
        "metric": str(grading.get("metric") or ""),
        "higher_is_better": grading.get("higher_is_better", True) is not False,
        "public": split_summary(grading, "public"),
        "private": split_summary(grading, "private"),
        "plots": sorted(plots) if isinstance(plots, dict) else [],
    }


def scores(db: Database, challenge_id: int, split: str = "public") -> list[float]:
    """Every scored submission's score on one split, for the distribution plot."""
    column = Submission.private_score if split == "private" else Submission.public_score
    with db.session() as session:
        return [
            float(v or 0.0)
            for v in session.scalars(
                select(column).where(
                    Submission.version_id.in_(_versions(challenge_id)), column.is_not(None)
                )
            )
        ]


CSV_COLUMNS = (
    "submission_id",
    "candidate",
    "status",
    "submitted_at",
    "public_score",
    "private_score",
    "reviewer",
    "review_submitted_at",
    "recommendation",
    "total",
)


def export_rows(db: Database, challenge_id: int, rubric: dict[str, Any]) -> Iterator[str]:
    """CSV lines: one per submitted review (or per submission without one); pseudonyms only."""
    from heldout.platform.services.reviews import weighted_total

    criteria = [c["name"] for c in rubric["criteria"]]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, *criteria])
    yield out.getvalue()
    stmt = (
        select(Submission, Candidate.pseudonym, Review, User.email)
        .join(Candidate, Candidate.id == Submission.candidate_id)
        .outerjoin(
            Review, and_(Review.submission_id == Submission.id, Review.submitted_at.is_not(None))
        )
        .outerjoin(User, User.id == Review.reviewer_id)
        .where(Submission.version_id.in_(_versions(challenge_id)))
        .order_by(Submission.id, Review.id)
    )
    with db.session() as session:
        for sub, pseudonym, review, email in session.execute(stmt):
            out.seek(0)
            out.truncate()
            scores_ = review.scores if review else {}
            writer.writerow(
                [
                    sub.id,
                    _safe_cell(pseudonym),
                    sub.status,
                    sub.created_at.isoformat(),
                    sub.public_score,
                    sub.private_score,
                    email or "",
                    review.submitted_at.isoformat() if review and review.submitted_at else "",
                    review.recommendation if review else "",
                    weighted_total(rubric, scores_) if review else "",
                    *[(scores_.get(c) or {}).get("score", "") for c in criteria],
                ]
            )
            yield out.getvalue()


def _safe_cell(text: str) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas; quote them as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def distribution_svg(
    values: list[float],
    marked: float | None = None,
    baseline: float | None = None,
    label: str = "score",
    bins: int = 30,
) -> str:
    """A histogram of scores as SVG, the selected candidate and the baseline as lines.

    Built from numbers only; the one text label is XML-escaped.
    """
    from xml.sax.saxutils import escape

    import numpy as np

    width, height, pad = 640, 220, 36
    inner_w, inner_h = width - 2 * pad, height - 2 * pad
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" font-family="sans-serif" '
        f'aria-label="Distribution of {escape(label)} over {len(values)} submissions">',
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    if not values:
        parts.append(f'<text x="{pad}" y="{height // 2}" font-size="14">No scores yet</text>')
        return "".join([*parts, "</svg>"])
    points = [*values, *(v for v in (marked, baseline) if v is not None)]
    low, high = min(points), max(points)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    tallest = max(int(counts.max()), 1)

    def x(v: float) -> float:
        return pad + (v - low) / (high - low) * inner_w

    bar_w = inner_w / bins
    for i, count in enumerate(counts.tolist()):
        h = count / tallest * inner_h
        parts.append(
            f'<rect x="{x(float(edges[i])):.1f}" y="{pad + inner_h - h:.1f}" '
            f'width="{max(bar_w - 1, 1):.1f}" height="{h:.1f}" fill="#8fa7dd"/>'
        )
    axis_y = pad + inner_h
    parts.append(
        f'<line x1="{pad}" y1="{axis_y}" x2="{pad + inner_w}" y2="{axis_y}" stroke="#5a6275"/>'
    )
    for v in (low, (low + high) / 2, high):
        parts.append(
            f'<text x="{x(v):.1f}" y="{axis_y + 16}" font-size="11" text-anchor="middle" '
            f'fill="#5a6275">{v:.3g}</text>'
        )
    parts.append(
        f'<text x="{pad}" y="{pad - 12}" font-size="12" fill="#1d2330">{escape(label)}: '
        f"{len(values)} scored, tallest bar {tallest}</text>"
    )
    lines = ((baseline, "#9a5b00", "baseline", "4 3"), (marked, "#b3261e", "this", "0"))
    for value, colour, name, dash in lines:
        if value is None:
            continue
        parts.append(
            f'<line x1="{x(value):.1f}" y1="{pad}" x2="{x(value):.1f}" y2="{axis_y}" '
            f'stroke="{colour}" stroke-width="2" stroke-dasharray="{dash}"/>'
            f'<text x="{x(value) + (-4 if x(value) > width - 90 else 4):.1f}" y="{pad + 12}" '
            f'font-size="11" fill="{colour}" '
            f'text-anchor="{"end" if x(value) > width - 90 else "start"}">'
            f"{name} {value:.3g}</text>"
        )
    return "".join([*parts, "</svg>"])
