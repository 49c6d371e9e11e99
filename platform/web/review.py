"""The reviewer workspace: sign-in, challenge dashboards, one-screen submission review.

Every route but sign-in requires a staff session; challenge and submission routes also check
that the account may see that challenge (admins: all; reviewers: assigned ones), answering
404 otherwise so that ids reveal nothing.
"""

from __future__ import annotations

import contextlib
import time
from functools import partial
from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from werkzeug.wrappers.response import Response as BaseResponse

from heldout.platform.errors import InvalidInput, LimitReached
from heldout.platform.services import (
    accounts,
    audit,
    dashboard,
    ratelimits,
    rendering,
    reviews,
    workspace,
)
from heldout.platform.services.accounts import Account
from heldout.platform.web import services
from heldout.platform.web.downloads import send_stored
from heldout.platform.web.errors import retry_after
from heldout.platform.web.security import counters, rate_limit, safe_next

bp = Blueprint("review", __name__)

IDLE_S = 12 * 3600  # a reviewer away for a working day signs in again
ABSOLUTE_S = 7 * 24 * 3600
PUBLIC = {"review.login", "review.login_post"}
# Our own SVGs are shown through <img>; opened directly they still cannot run anything.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def account() -> Account:
    found: Account = g.account
    return found


@bp.before_request
def require_staff() -> BaseResponse | None:
    if request.endpoint in PUBLIC:
        return None
    user_id = session.get("user_id")
    now = time.time()
    fresh = (
        isinstance(user_id, int)
        and now - float(session.get("seen_at", 0)) < IDLE_S
        and now - float(session.get("auth_at", 0)) < ABSOLUTE_S
    )
    version = session.get("session_version")
    found = accounts.get_account(services().db, user_id, version) if fresh and user_id else None
    if found is None:
        if isinstance(user_id, int):
            session.clear()
            flash("Your session expired; sign in again.", "error")
        return redirect(url_for("review.login", next=request.full_path.rstrip("?")))
    g.account = found
    if now - float(session.get("seen_at", 0)) > 60:  # refresh the cookie at most once a minute
        session["seen_at"] = now
    return None


@bp.get("/login")
def login() -> str:
    return render_template("review/login.html", next=request.args.get("next", ""))


def _safe_next(target: str) -> str:
    return safe_next(target, "/review/", url_for("review.index"))


@bp.post("/login")
@rate_limit("review-login", 30, 300)
def login_post() -> BaseResponse | tuple[str, int]:
    email = request.form.get("email", "").strip().lower()[:320]
    password = request.form.get("password", "")
    back = request.form.get("next", "")[:500]
    address = request.remote_addr or "-"
    db = services().db
    try:
        ratelimits.check_sign_in(counters(), email, address)
    except LimitReached as exc:
        audit.log(db, None, "login_failed", f"user:{email}", {"reason": "throttled"})
        retry_after(exc)
        return render_template("review/login.html", error=str(exc), next=back), 429
    found = accounts.authenticate(db, email, password)
    if found is None:
        ratelimits.sign_in_failed(counters(), email, address)
        audit.log(db, None, "login_failed", f"user:{email}", {"ip": address})
        error = "That e-mail and password do not match an account."
        return render_template("review/login.html", error=error, next=back), 401
    ratelimits.sign_in_succeeded(counters(), email, address)
    # A fresh session: no candidate state, and a new CSRF token, survive a sign-in.
    session.clear()
    now = time.time()
    session.update(
        user_id=found.id, session_version=found.session_version, auth_at=now, seen_at=now
    )
    audit.log(db, found.id, "login", f"user:{found.id}")
    return redirect(_safe_next(back))


@bp.post("/logout")
def logout() -> BaseResponse:
    audit.log(services().db, account().id, "logout", f"user:{account().id}")
    accounts.end_sessions(services().db, account().id)  # a copied cookie dies here too
    session.clear()
    flash("Signed out.", "info")
    return redirect(url_for("review.login"))


@bp.get("/")
def index() -> str:
    found = accounts.visible_challenges(services().db, account())
    return render_template("review/index.html", challenges=found)


def _challenge(slug: str) -> dict[str, Any]:
    with services().db.session() as db_session:
        challenge = accounts.challenge_for(db_session, account(), slug)
        version = challenge.latest
        return {
            "id": challenge.id,
            "slug": challenge.slug,
            "title": challenge.title,
            "state": challenge.state,
            "metric": version.metric if version else "",
            "rubric": reviews.rubric_for(version.spec if version else {}),
        }


def _id_arg(name: str) -> int | None:
    """A row id from the query string; anything a database id cannot be is no id."""
    value = request.args.get(name, type=int)
    return value if value is not None and 0 < value < 2**63 else None


@bp.get("/c/<slug>")
def challenge(slug: str) -> str:
    found = _challenge(slug)
    query = dashboard.Query.from_args(request.args.to_dict())
    result = dashboard.page(services().db, found["id"], account().id, query)
    mark = _id_arg("mark")
    return render_template(
        "review/dashboard.html",
        challenge=found,
        page=result,
        mark=mark,
        args={k: v for k, v in request.args.items() if k not in ("page", "mark")},
    )


@bp.get("/c/<slug>/export.csv")
def export(slug: str) -> Response:
    found = _challenge(slug)
    audit.log(services().db, account().id, "exported", f"challenge:{found['id']}")
    lines = dashboard.export_rows(services().db, found["id"], found["rubric"])
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{found["slug"]}-reviews.csv"'
    return response


@bp.get("/c/<slug>/distribution.svg")
def distribution(slug: str) -> Response:
    found = _challenge(slug)
    split = "private" if request.args.get("split") == "private" else "public"
    db = services().db
    marked = None
    if (mark := _id_arg("mark")) is not None:
        challenge_id, marked = workspace.marked_score(db, account(), mark, split)
        if challenge_id != found["id"]:
            marked = None
    baseline = request.args.get("baseline", type=float)
    svg = dashboard.distribution_svg(
        dashboard.scores(db, found["id"], split),
        marked,
        baseline,
        label=f"{split} {found['metric']}",
    )
    response = Response(svg, mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_CSP
    return response


@bp.get("/c/<slug>/agreement")
def agreement(slug: str) -> str:
    found = _challenge(slug)
    result = reviews.challenge_agreement(services().db, account(), found["id"])
    return render_template("review/agreement.html", challenge=found, result=result)


@bp.get("/s/<int:submission_id>")
def submission(submission_id: int) -> str:
    view = workspace.view(services().db, account(), submission_id)
    text = view["explanation"]["text"]
    return render_template(
        "review/submission.html",
        s=view,
        explanation_html=rendering.markdown_html(text, heading_offset=2) if text else "",
        recommendations=reviews.RECOMMENDATION_LABELS,
        scale=reviews.SCALE,
    )


@bp.get("/s/<int:submission_id>/notebook")
def notebook(submission_id: int) -> Response:
    key = workspace.executed_notebook_key(services().db, account(), submission_id)
    document = rendering.notebook_html(services().storage.read_bytes(key))
    response = Response(document, mimetype="text/html")
    # The second wall behind the sanitizer: nothing in this document may run or load.
    response.headers["Content-Security-Policy"] = rendering.NOTEBOOK_CSP
    return response


@bp.get("/s/<int:submission_id>/video")
def video(submission_id: int) -> BaseResponse:
    key, mimetype = workspace.video(services().db, account(), submission_id)
    storage = services().storage
    url = storage.presigned_url(key, expires_s=3600)
    if url:
        return redirect(url)
    return send_stored(storage, key, None, mimetype)


@bp.get("/s/<int:submission_id>/plots/<name>.svg")
def plot(submission_id: int, name: str) -> Response:
    key = workspace.plot_key(services().db, account(), submission_id, name)
    response = send_stored(services().storage, key, None, "image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_CSP
    return response


@bp.post("/s/<int:submission_id>/review")
def save_review(submission_id: int) -> BaseResponse:
    db = services().db
    rubric = reviews.rubric_of(db, account(), submission_id)
    form = request.form
    scores = {
        c["name"]: {"score": form.get(f"score-{i}", ""), "comment": form.get(f"comment-{i}", "")}
        for i, c in enumerate(rubric["criteria"])
    }
    flags = [rubric["red_flags"][int(i)] for i in form.getlist("red_flag") if _index(i, rubric)]
    submit = form.get("action") == "submit"
    save = partial(
        reviews.save,
        db,
        account(),
        submission_id,
        scores,
        flags,
        form.get("recommendation") or None,
        form.get("comment", ""),
    )
    try:
        save(submit=submit)
    except InvalidInput as exc:
        if submit:  # keep what was typed as a draft, then say what is missing
            with contextlib.suppress(InvalidInput):
                save(submit=False)
        flash(str(exc), "error")
        return redirect(url_for("review.submission", submission_id=submission_id) + "#rubric")
    flash("Review submitted." if submit else "Draft saved.", "info")
    return redirect(url_for("review.submission", submission_id=submission_id) + "#rubric")


def _index(value: str, rubric: dict[str, Any]) -> bool:
    return value.isdigit() and int(value) < len(rubric["red_flags"])


@bp.post("/s/<int:submission_id>/unblind")
def unblind(submission_id: int) -> BaseResponse:
    reviews.unblind(services().db, account(), submission_id)
    flash("Unblinded: this is recorded in the audit log.", "info")
    return redirect(url_for("review.submission", submission_id=submission_id))


@bp.get("/audit")
def audit_log() -> str:
    accounts.require_admin(account())
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), dashboard.MAX_PAGE)
    action = request.args.get("action") or None
    events, total = audit.events(services().db, page=page, action=action)
    return render_template(
        "review/audit.html",
        events=events,
        total=total,
        page=page,
        action=action or "",
        actions=audit.ACTIONS,
    )
