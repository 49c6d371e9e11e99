"""The candidate portal: invitation link to scored submission and explanation, in the browser.

The invitation token only ever appears in `/i/<token>`, which stores the invitation id in the
session and redirects at once to a clean URL. Every other route re-checks that invitation
(revoked or expired ends access) and only ever touches the session's own objects.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.exceptions import HTTPException

from heldout.platform.errors import HeldoutError, InvalidInput, NotFound, PermissionDenied
from heldout.platform.failures import FAILURES
from heldout.platform.services import (
    accounts,
    challenge_view,
    explanations,
    invitations,
    rendering,
    submissions,
)
from heldout.platform.web import services
from heldout.platform.web.downloads import send_stored
from heldout.platform.web.errors import retry_after, status_for
from heldout.platform.web.security import limit_body, rate_limit, safe_next

bp = Blueprint("portal", __name__)
F = TypeVar("F", bound=Callable[..., Any])

ACTIVE = ("queued", "running")


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {
        "failures": FAILURES,
        "traceback_tail": _traceback_tail,
    }


def _traceback_tail(traceback: Any, lines: int = 20) -> str:
    text = "\n".join(map(str, traceback)) if isinstance(traceback, list) else str(traceback)
    return "\n".join(rendering.strip_ansi(text).rstrip().splitlines()[-lines:])


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.path.endswith(".json")


@bp.errorhandler(HeldoutError)
def _domain_error(exc: HeldoutError) -> tuple[Any, int]:
    code = status_for(exc)
    retry_after(exc)
    if _wants_json():
        return {"error": str(exc)}, code
    if isinstance(exc, PermissionDenied):
        return render_template("portal/link_problem.html", message=str(exc)), code
    return render_template("error.html", title="That did not work", message=str(exc)), code


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> tuple[Any, int]:
    code = exc.code or 500
    if _wants_json():
        return {"error": exc.description or exc.name}, code
    return render_template("error.html", title=exc.name, message=exc.description), code


def candidate(view: F) -> F:
    """Resolve the session's invitation, re-checked on every request, or send them home."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        invitation_id = session.get("invitation_id")
        if not isinstance(invitation_id, int):
            if _wants_json():
                return {"error": "open your invitation link first"}, 401
            return redirect(url_for("portal.index"))
        try:
            g.access = invitations.access_by_id(services().db, invitation_id)
        except PermissionDenied:
            session.clear()
            raise
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _invitation() -> int:
    return int(g.access.invitation_id)


def _who() -> str:
    return str(session.get("invitation_id", request.remote_addr))


def _page(template: str, active: str, **context: Any) -> str:
    challenge = challenge_view.for_candidate(services().db, _invitation())
    return render_template(template, active=active, challenge=challenge, access=g.access, **context)


# ---------------------------------------------------------------- session


@bp.get("/")
def index() -> Any:
    if isinstance(session.get("invitation_id"), int):
        return redirect(url_for("portal.challenge"))
    return render_template("portal/welcome.html")


@bp.get("/i/<token>")
@rate_limit("invitation", 30, 60)
def open_invitation(token: str) -> Any:
    """Trade the token for a session and leave the URL at once (history, logs, Referer).

    A session that already holds another invitation, or a staff sign-in, is never swapped by
    a GET (a link someone else sent would sign the victim into their account): it is asked.
    """
    access = invitations.authenticate(services().db, token)
    current = session.get("invitation_id")
    if current == access.invitation_id:
        return redirect(url_for("portal.challenge"), code=303)
    if isinstance(current, int) or session.get("user_id") is not None:
        session["pending_invitation_id"] = access.invitation_id  # the id, never the token
        return redirect(url_for("portal.confirm_switch"), code=303)
    _start(access.invitation_id)
    return redirect(url_for("portal.challenge"), code=303)


def _start(invitation_id: int) -> None:
    session.clear()
    session["invitation_id"] = invitation_id
    session.permanent = True


@bp.get("/i/switch")
def confirm_switch() -> Any:
    pending = session.get("pending_invitation_id")
    if not isinstance(pending, int):
        return redirect(url_for("portal.index"))
    db = services().db
    current = session.get("invitation_id")
    user_id = session.get("user_id")
    if isinstance(current, int):
        try:
            signed_in_as = invitations.access_by_id(db, current).email
        except PermissionDenied:
            signed_in_as = "an invitation that no longer works"
    else:
        account = None
        if isinstance(user_id, int):
            account = accounts.get_account(db, user_id, session.get("session_version"))
        signed_in_as = f"{account.email} (staff)" if account else "a staff account"
    return render_template(
        "portal/switch.html", signed_in_as=signed_in_as, other=invitations.access_by_id(db, pending)
    )


@bp.post("/i/switch")
def switch() -> Any:
    """The only way a session changes invitation: a POST with this session's CSRF token."""
    pending = session.get("pending_invitation_id")
    if not isinstance(pending, int):
        return redirect(url_for("portal.index"), code=303)
    _start(invitations.access_by_id(services().db, pending).invitation_id)
    return redirect(url_for("portal.challenge"), code=303)


@bp.post("/i/switch/cancel")
def cancel_switch() -> Any:
    session.pop("pending_invitation_id", None)
    back = "portal.challenge" if isinstance(session.get("invitation_id"), int) else "review.index"
    return redirect(url_for(back), code=303)


@bp.post("/leave")
def leave() -> Any:
    session.clear()
    flash("You have left this challenge on this device. Your invitation link brings you back.")
    return redirect(url_for("portal.index"), code=303)


# ---------------------------------------------------------------- challenge


@bp.get("/challenge")
@candidate
def challenge() -> str:
    brief = challenge_view.for_candidate(services().db, _invitation())["brief"]
    return _page("portal/challenge.html", "challenge", brief_html=rendering.markdown_html(brief, 2))


@bp.get("/challenge/bundle")
@candidate
def bundle() -> Response:
    key, filename = challenge_view.bundle_key(services().db, _invitation())
    return send_stored(services().storage, key, filename, "application/zip")


@bp.get("/challenge/starter")
@candidate
def starter() -> Response:
    key, filename = challenge_view.starter_key(services().db, _invitation())
    return send_stored(services().storage, key, filename, "application/x-ipynb+json")


# ---------------------------------------------------------------- submissions


def _listing() -> dict[str, Any]:
    db = services().db
    found = submissions.list_for(db, _invitation())
    with db.session() as s:
        final = explanations.final_submission_id(s, _invitation())
    return {"submissions": found, "final_id": final}


@bp.get("/submissions")
@candidate
def submissions_page() -> str:
    max_mb = int(services().config["HELDOUT_MAX_NOTEBOOK_MB"])
    return _page("portal/submissions.html", "submissions", max_mb=max_mb, **_listing())


@bp.get("/submissions.json")
@candidate
def submissions_json() -> dict[str, Any]:
    """What the page polls while runs progress: the rows as HTML, and each status."""
    listing = _listing()
    quota = submissions.quota(services().db, _invitation())
    return {
        "html": render_template("portal/_rows.html", **listing),
        "active": any(s["status"] in ACTIVE for s in listing["submissions"]),
        "statuses": {str(s["id"]): s["status"] for s in listing["submissions"]},
        "scores": {str(s["id"]): s["public_score"] for s in listing["submissions"]},
        "left": quota.submissions.left,
        "attempts_left": quota.attempts.left,
        "refusal": quota.refusal(),
    }


@bp.post("/submissions")
@candidate
@limit_body("HELDOUT_MAX_NOTEBOOK_MB")
@rate_limit("portal-submit", 10, 60, key=_who)
def submit() -> Any:
    upload = request.files.get("notebook")
    if upload is None or not upload.filename:
        raise InvalidInput("Choose your .ipynb notebook first.")
    if not upload.filename.lower().endswith(".ipynb"):
        raise InvalidInput("Upload a Jupyter notebook: a file whose name ends in .ipynb.")
    sv = services()
    view = submissions.submit(
        sv.db,
        sv.storage,
        _invitation(),
        upload.stream,
        upload.filename,
        int(sv.config["HELDOUT_MAX_NOTEBOOK_MB"]) * 2**20,
    )
    if _wants_json():
        return {"id": view["id"], "status": view["status"], "warnings": view["warnings"]}, 201
    flash(
        f"Submission {view['id']} is queued. This page updates as it runs.", f"queued-{view['id']}"
    )
    for warning in view["warnings"]:
        flash(f"Warning: {warning}")
    return redirect(url_for("portal.submissions_page"), code=303)


@bp.get("/submissions/<int:submission_id>")
@candidate
def submission(submission_id: int) -> str:
    db = services().db
    view = submissions.get(db, _invitation(), submission_id)
    with db.session() as s:
        final = explanations.final_submission_id(s, _invitation())
    try:
        has_notebook = bool(submissions.executed_key(db, _invitation(), submission_id))
    except NotFound:
        has_notebook = False
    return _page(
        "portal/submission.html",
        "submissions",
        sub=view,
        final_id=final,
        has_notebook=has_notebook,
    )


@bp.get("/submissions/<int:submission_id>.json")
@candidate
def submission_json(submission_id: int) -> dict[str, Any]:
    return submissions.get(services().db, _invitation(), submission_id)


@bp.get("/submissions/<int:submission_id>/notebook")
@candidate
def executed_notebook(submission_id: int) -> Response:
    """The executed notebook as sanitized HTML, for a sandboxed iframe only."""
    sv = services()
    key = submissions.executed_key(sv.db, _invitation(), submission_id)
    page = rendering.notebook_html(sv.storage.read_bytes(key), f"Submission {submission_id}")
    response = Response(page, mimetype="text/html")
    response.headers["Content-Security-Policy"] = rendering.NOTEBOOK_CSP
    return response


@bp.get("/submissions/<int:submission_id>/executed.ipynb")
@candidate
def executed_download(submission_id: int) -> Response:
    sv = services()
    key = submissions.executed_key(sv.db, _invitation(), submission_id)
    name = f"submission-{submission_id}-executed.ipynb"
    return send_stored(sv.storage, key, name, "application/x-ipynb+json")


@bp.post("/submissions/<int:submission_id>/final")
@candidate
def choose_final(submission_id: int) -> Any:
    explanations.choose_final(services().db, _invitation(), submission_id)
    if _wants_json():
        return {"final_submission_id": submission_id}
    flash(f"Submission {submission_id} is now your final submission.")
    back = safe_next(request.form.get("next", ""), "/", url_for("portal.submissions_page"))
    return redirect(back, code=303)


# ---------------------------------------------------------------- explanation


@bp.get("/explanation")
@candidate
def explanation() -> str:
    sv = services()
    current = explanations.state(sv.db, _invitation())
    return _page(
        "portal/explanation.html",
        "explanation",
        explanation=current,
        text_html=rendering.markdown_html(current["text_draft"] or current["text"]),
        max_video_mb=int(sv.config["HELDOUT_MAX_VIDEO_MB"]),
        chunk_size=explanations.CHUNK_SIZE,
    )


@bp.post("/explanation/draft")
@candidate
@rate_limit("portal-draft", 240, 60, key=_who)
def save_draft() -> dict[str, Any]:
    """Autosave while typing; answers with the sanitized preview."""
    text = _text_field()
    saved = explanations.save_draft(services().db, _invitation(), text)
    return {**saved, "html": rendering.markdown_html(text)}


@bp.post("/explanation/text")
@candidate
@rate_limit("portal-text", 60, 60, key=_who)
def publish_text() -> Any:
    saved = explanations.publish_text(services().db, _invitation(), _text_field())
    if _wants_json():
        return saved
    flash("Your written explanation is saved.")
    return redirect(url_for("portal.explanation"), code=303)


def _text_field() -> str:
    if request.is_json:
        payload = request.get_json(silent=True) or {}
        text = payload.get("text", "") if isinstance(payload, dict) else ""
    else:
        text = request.form.get("text", "")
    if not isinstance(text, str):
        raise InvalidInput("send the explanation as text")
    return text


@bp.post("/explanation/upload")
@candidate
@rate_limit("portal-upload-start", 30, 60, key=_who)
def start_upload() -> tuple[dict[str, Any], int]:
    payload = request.get_json(silent=True) or {}
    size = payload.get("size") if isinstance(payload, dict) else None
    if not isinstance(size, int):
        raise InvalidInput('send the video\'s size in bytes as JSON: {"size": N}')
    sv = services()
    upload = explanations.start_upload(
        sv.db, sv.storage, _invitation(), size, int(sv.config["HELDOUT_MAX_VIDEO_MB"]) * 2**20
    )
    return upload.as_json(), 201


@bp.get("/explanation/upload/<upload_id>")
@candidate
def upload_status(upload_id: str) -> dict[str, Any]:
    return explanations.upload_status(services().db, _invitation(), upload_id).as_json()


@bp.put("/explanation/upload/<upload_id>")
@candidate
@limit_body(max_bytes=explanations.CHUNK_MAX)
@rate_limit("portal-upload-chunk", 600, 60, key=_who)
def upload_chunk(upload_id: str) -> dict[str, Any]:
    """One chunk, streamed from the request body to storage (never read whole)."""
    offset = request.args.get("offset", type=int)
    length = request.content_length
    if offset is None or length is None:
        raise InvalidInput("send ?offset=N and a Content-Length with each chunk")
    sv = services()
    upload = explanations.write_chunk(
        sv.db, sv.storage, _invitation(), upload_id, offset, request.stream, length
    )
    return upload.as_json()


@bp.get("/explanation/video")
@candidate
def video() -> Any:
    sv = services()
    key, kind = explanations.video(sv.db, _invitation())
    url = sv.storage.presigned_url(key, 3600)
    if url:
        return redirect(url)
    return send_stored(sv.storage, key, None, kind, inline=True)
