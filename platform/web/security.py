"""Web security in one place: CSP and other headers, CSRF tokens, simple rate limits."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, Response, abort, current_app, request, session
from werkzeug.exceptions import RequestEntityTooLarge

from heldout.platform.errors import LimitReached

F = TypeVar("F", bound=Callable[..., Any])

# Candidate and reviewer pages load only our own scripts and styles. Notebook HTML is served
# by its own route with a stricter policy inside a sandboxed iframe.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: {media}; connect-src 'self'; frame-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)


def init_app(app: Flask, media_origin: str = "") -> None:
    policy = CSP.format(media=media_origin).replace("  ", " ")

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Invitation tokens must never leak through Referer.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if (
            request.path.startswith(("/api/", "/i/"))
            or session.get("invitation_id")
            or session.get("user_id")
        ):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.before_request
    def check_size() -> None:
        _check_size(app)

    @app.before_request
    def check_csrf() -> None:
        if request.method in ("GET", "HEAD", "OPTIONS") or request.path.startswith("/api/"):
            return
        if getattr(app.view_functions.get(request.endpoint or ""), "csrf_exempt", False):
            return
        sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token", "")
        if not sent or not hmac.compare_digest(sent, csrf_token()):
            abort(
                400,
                description="The form expired or came from another site. Reload the "
                "page and try again.",
            )

    app.jinja_env.globals["csrf_token"] = csrf_token


def csrf_token() -> str:
    """The session's CSRF token (created on first use)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_exempt(view: F) -> F:
    view.csrf_exempt = True  # type: ignore[attr-defined]
    return view


class RateLimiter:
    """A per-process sliding window: at most `limit` events per `window_s` for each key."""

    def __init__(self) -> None:
        self._events: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window_s: float) -> None:
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._events.get(key, []) if now - t < window_s]
            if len(recent) >= limit:
                wait = int(window_s - (now - recent[0])) + 1
                raise LimitReached(f"Too many attempts; try again in {wait} seconds.")
            recent.append(now)
            self._events[key] = recent
            if len(self._events) > 100_000:  # bound memory under a flood of keys
                self._events.clear()


def limiter() -> RateLimiter:
    """The app's limiter (one per app, so tests and apps never share counts)."""
    found: RateLimiter = current_app.extensions.setdefault("heldout.limiter", RateLimiter())
    return found


def rate_limit(
    scope: str, limit: int, window_s: float, key: Callable[[], str] | None = None
) -> Callable[[F], F]:
    """Decorate a view: LimitReached (HTTP 429) past `limit` calls per window per key."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            who = key() if key else (request.remote_addr or "-")
            limiter().hit(f"{scope}:{who}", limit, window_s)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


def limit_body(setting: str) -> Callable[[F], F]:
    """Mark a view whose body may not exceed the MB limit in `setting` (see `check_size`)."""

    def decorate(view: F) -> F:
        view.body_limit = setting  # type: ignore[attr-defined]
        return view

    return decorate


def _check_size(app: Flask) -> None:
    """Refuse an oversized body before anything parses or spools it (multipart forms are
    spooled to disk as they arrive): 413 from Content-Length, and a cap on what is read."""
    view = app.view_functions.get(request.endpoint or "")
    setting = getattr(view, "body_limit", None)
    if setting is None:
        return
    allowed = int(current_app.extensions["heldout"].config[setting])
    # Twice the limit: a file slightly over it still reaches the service's precise message.
    limit = 2 * allowed * 2**20 + 2**20
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(
            f"The upload is far larger than the {allowed} MB limit; clear large outputs from "
            "the notebook and try again."
        )
    request.max_content_length = limit
