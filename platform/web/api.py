"""The candidate JSON API, authenticated by the invitation token as a Bearer token."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Blueprint, Response, g, request

from heldout.platform.errors import InvalidInput, PermissionDenied
from heldout.platform.services import challenge_view, explanations, invitations, submissions
from heldout.platform.web import services
from heldout.platform.web.downloads import send_stored
from heldout.platform.web.security import limit_body, rate_limit

bp = Blueprint("api", __name__)
F = TypeVar("F", bound=Callable[..., Any])


def bearer(view: F) -> F:
    """Resolve `Authorization: Bearer <token>` to the invitation's access, or 401."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return {"error": "send your invitation token as 'Authorization: Bearer <token>'"}, 401
        try:
            g.access = invitations.authenticate(services().db, token.strip())
        except PermissionDenied as exc:
            return {"error": str(exc)}, 401
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _invitation() -> int:
    return int(g.access.invitation_id)


@bp.get("/challenge")
@bearer
def challenge() -> dict[str, Any]:
    return challenge_view.for_candidate(services().db, _invitation())


@bp.get("/challenge/bundle")
@bearer
def bundle() -> Response:
    key, filename = challenge_view.bundle_key(services().db, _invitation())
    return send_stored(services().storage, key, filename, "application/zip")


@bp.post("/submissions")
@bearer
@limit_body("HELDOUT_MAX_NOTEBOOK_MB")
@rate_limit("submit", 10, 60, key=lambda: str(g.access.invitation_id))
def submit() -> tuple[dict[str, Any], int]:
    upload = request.files.get("notebook")
    if upload is None:
        raise InvalidInput("attach the notebook as the multipart field 'notebook'")
    sv = services()
    max_bytes = int(sv.config["HELDOUT_MAX_NOTEBOOK_MB"]) * 2**20
    view = submissions.submit(
        sv.db,
        sv.storage,
        _invitation(),
        upload.stream,
        upload.filename or "solution.ipynb",
        max_bytes,
    )
    return {"id": view["id"], "status": view["status"], "warnings": view["warnings"]}, 202


@bp.get("/submissions")
@bearer
def list_submissions() -> dict[str, Any]:
    return {"submissions": submissions.list_for(services().db, _invitation())}


@bp.get("/submissions/<int:submission_id>")
@bearer
def get_submission(submission_id: int) -> dict[str, Any]:
    view = submissions.get(services().db, _invitation(), submission_id)
    return {
        k: view[k]
        for k in (
            "id",
            "status",
            "public_score",
            "failure",
            "metric",
            "submitted_at",
            "finished_at",
            "run_time_s",
            "phase",
            "running_for_s",
        )
    }


@bp.post("/submissions/<int:submission_id>/explanation")
@bearer
@limit_body("HELDOUT_MAX_VIDEO_MB")
@rate_limit("explain", 30, 60, key=lambda: str(g.access.invitation_id))
def explanation(submission_id: int) -> tuple[dict[str, Any], int]:
    sv = services()
    video = request.files.get("video")
    text = request.form.get("text")
    if video is None and text is None:
        raise InvalidInput("send a multipart field 'video' or a form field 'text'")
    result = explanations.attach(
        sv.db,
        sv.storage,
        _invitation(),
        submission_id,
        video=video.stream if video else None,
        video_name=video.filename if video else None,
        text=text,
        max_video_bytes=int(sv.config["HELDOUT_MAX_VIDEO_MB"]) * 2**20,
        replace=request.form.get("replace", "").strip().lower() in ("true", "1", "yes"),
    )
    return result, 201
