"""The one place domain errors become HTTP statuses."""

from __future__ import annotations

from flask import Flask, g, render_template, request
from werkzeug.exceptions import HTTPException

from heldout.platform import errors

STATUS: dict[type[Exception], int] = {
    errors.NotFound: 404,
    errors.PermissionDenied: 403,
    errors.LimitReached: 429,
    errors.Conflict: 409,
    errors.InvalidInput: 400,
    errors.ServiceUnavailable: 503,
    errors.ConfigError: 500,
}


def retry_after(exc: Exception) -> None:
    """Remember a 429's wait for the Retry-After header the security layer adds."""
    g.retry_after = getattr(exc, "retry_after", None)


def status_for(exc: Exception) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 500


def init_app(app: Flask) -> None:
    @app.errorhandler(errors.HeldoutError)
    def domain_error(exc: errors.HeldoutError) -> tuple[dict[str, str] | str, int]:
        code = status_for(exc)
        retry_after(exc)
        if request.path.startswith("/api/"):
            return {"error": str(exc)}, code
        return render_template(
            "error.html", title=TITLES.get(code, "Something went wrong"), message=str(exc)
        ), code

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[dict[str, str] | str, int]:
        code = exc.code or 500
        message = exc.description or exc.name
        if request.path.startswith("/api/"):
            return {"error": message}, code
        return render_template("error.html", title=exc.name, message=message), code


TITLES = {
    404: "Not found",
    403: "Not allowed",
    429: "Slow down",
    400: "That did not work",
    503: "Temporarily unavailable",
}
