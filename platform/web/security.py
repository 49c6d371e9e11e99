"""Web security in one place: CSP and other headers, body limits, CSRF tokens, rate limits.

Bodies are bounded before anything reads them: every request may carry at most `BODY_BYTES`
unless its view says otherwise with `limit_body`, a Content-Length past the limit is answered
413 at once, and a body without one is cut off at the limit as it is read. Only views that
accept uploads may spool file parts to disk; elsewhere they stay in (bounded) memory.
"""

from __future__ import annotations

import hmac
import io
import ipaddress
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Request, Response, abort, current_app, g, request, session
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge
from werkzeug.middleware.proxy_fix import ProxyFix

from heldout.platform.services import ratelimits

F = TypeVar("F", bound=Callable[..., Any])

# Sign-in, review and explanation forms and JSON bodies: the longest is a 50,000-character
# explanation (at most 300 KB as escaped JSON), so 1 MiB leaves room and bounds the rest.
BODY_BYTES = 2**20
FORM_MEMORY_BYTES = 512 * 2**10  # one non-file form field (werkzeug's max_form_memory_size)
FORM_PARTS = 200  # a rubric form has two fields per criterion; werkzeug's default is 1000
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

# Candidate and reviewer pages load only our own scripts and styles. Notebook HTML is served
# by its own route with a stricter policy inside a sandboxed iframe.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob: {media}; connect-src 'self'; frame-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'self'"
)


class BoundedRequest(Request):
    """A request whose file parts spool to disk only on views that accept uploads."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> Any:
        if self.environ.get("heldout.uploads"):
            return super()._get_file_stream(
                total_content_length, content_type, filename, content_length
            )
        return io.BytesIO()  # bounded by the body limit, never a temporary file

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        """JSON that is too deep for the parser is the sender's mistake (400), not a 500."""
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            raise BadRequest("The JSON body is nested too deeply.") from None


def init_app(app: Flask, media_origin: str = "") -> None:
    policy = CSP.format(media=media_origin).replace("  ", " ")
    app.request_class = BoundedRequest
    app.config.setdefault("MAX_FORM_MEMORY_SIZE", FORM_MEMORY_BYTES)
    app.config.setdefault("MAX_FORM_PARTS", FORM_PARTS)

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # Invitation tokens must never leak through Referer.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):  # served over HTTPS: stay on HTTPS
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if response.status_code == 429:
            response.headers.setdefault("Retry-After", str(g.get("retry_after") or 60))
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
        if request.url_rule is None:  # a 404 or 405 follows; its body is never read
            return
        if getattr(app.view_functions.get(request.endpoint or ""), "csrf_exempt", False):
            return
        _check_csrf()

    app.jinja_env.globals["csrf_token"] = csrf_token


def _check_csrf() -> None:
    """Judge the token from the session and headers first, so a request that cannot pass
    never has its body read; only a form (bounded by then) is parsed for its field."""
    expected = session.get("csrf")
    sent = request.headers.get("X-CSRF-Token")
    if sent is None and isinstance(expected, str) and request.mimetype in FORM_TYPES:
        sent = request.form.get("csrf_token", "")
    if not isinstance(expected, str) or not sent or not hmac.compare_digest(sent, expected):
        abort(
            400,
            description="The form expired or came from another site. Reload the "
            "page and try again.",
        )


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


def safe_next(target: str, prefix: str, default: str) -> str:
    """`target` when it is a path on this site under `prefix`, else `default`: browsers drop
    tabs and newlines from URLs, so `/\t/evil.com` would be `//evil.com`."""
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in target) or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith(prefix) or target.startswith("//"):
        return default
    return target


def counters() -> ratelimits.Counters:
    """The app's rate-limit counters (one per app, so tests and apps never share counts)."""
    found: ratelimits.Counters | None = current_app.extensions.get("heldout.counters")
    if found is None:
        sv = current_app.extensions["heldout"]
        found = ratelimits.open_counters(str(sv.config["HELDOUT_RATELIMIT_STORAGE"]), sv.db)
        current_app.extensions["heldout.counters"] = found
    return found


def rate_limit(
    scope: str, limit: int, window_s: float, key: Callable[[], str] | None = None
) -> Callable[[F], F]:
    """Decorate a view: LimitReached (HTTP 429) past `limit` calls per window per key,
    counted across every web process."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            who = key() if key else (request.remote_addr or "-")
            ratelimits.hit(counters(), scope, who, limit, window_s)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


class TrustedProxies:
    """Believe X-Forwarded-For/-Proto only from the proxies HELDOUT_TRUSTED_PROXIES names:
    a count of hops in front (every peer is a proxy), or the proxies' addresses/networks."""

    def __init__(self, app: Any, trusted: int | tuple[Any, ...]) -> None:
        self.app, self.trusted = app, trusted
        hops = trusted if isinstance(trusted, int) else 1
        self.fixed = ProxyFix(app, x_for=hops, x_proto=hops)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if isinstance(self.trusted, int) or self._from_proxy(environ.get("REMOTE_ADDR", "")):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)

    def _from_proxy(self, peer: str) -> bool:
        try:
            address = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(address in network for network in self.trusted)  # type: ignore[union-attr]


def limit_body(setting: str | None = None, max_bytes: int | None = None) -> Callable[[F], F]:
    """Mark a view that accepts a larger body than `BODY_BYTES`: the MB limit in `setting`
    (see `check_size`), or `max_bytes`; its file parts may spool to disk."""

    def decorate(view: F) -> F:
        view.body_limit = (setting, max_bytes)  # type: ignore[attr-defined]
        return view

    return decorate


def _check_size(app: Flask) -> None:
    """Refuse an oversized body before anything parses or spools it (multipart forms are
    spooled to disk as they arrive): 413 from Content-Length, and a cap on what is read."""
    view = app.view_functions.get(request.endpoint or "") if request.url_rule else None
    setting, max_bytes = getattr(view, "body_limit", (None, None))
    message = "The request is larger than this page accepts."
    limit = BODY_BYTES
    if setting is not None:
        allowed = int(current_app.extensions["heldout"].config[setting])
        # Twice the limit: a file slightly over it still reaches the service's precise message.
        limit = 2 * allowed * 2**20 + 2**20
        message = (
            f"The upload is far larger than the {allowed} MB limit; make the file smaller "
            "(for a notebook, clear large outputs) and try again."
        )
    elif max_bytes is not None:
        limit = max_bytes
    if limit > BODY_BYTES:
        request.environ["heldout.uploads"] = True
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge(message)
    if request.content_length is None and "wsgi.input_terminated" in request.environ:
        # A chunked body: werkzeug's own cap would silently cut it short at the limit.
        request.environ["wsgi.input"] = _Capped(request.environ["wsgi.input"], limit, message)
        limit += 1
    request.max_content_length = limit


class _Capped(io.RawIOBase):
    """A body without a Content-Length that answers 413 once it passes `limit` bytes."""

    def __init__(self, stream: Any, limit: int, message: str) -> None:
        self.stream, self.limit, self.message, self.seen = stream, limit, message, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(min(len(buffer), self.limit + 1 - self.seen) or 1)
        self.seen += len(data)
        if self.seen > self.limit:
            raise RequestEntityTooLarge(self.message)
        buffer[: len(data)] = data
        return len(data)
