"""The one place domain errors become HTTP statuses."""

from __future__ import annotations

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from heldout.platform import errors

STATUS: dict[type[Exception], int] = {
    errors.NotFound: 404,
    errors.PermissionDenied: 403,
    errors.LimitReached: 429,
    errors.InvalidInput: 400,
    errors.ServiceUnavailable: 503,
    errors.NotYetAvailable: 501,
    errors.ConfigError: 500,
}


def status_for(exc: Exception) -> int:
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]
    return 500


def init_app(app: Flask) -> None:
    @app.errorhandler(errors.HeldoutError)
    def domain_error(exc: errors.HeldoutError) -> tuple[dict[str, str], int] | HTTPException:
        code = status_for(exc)
        if request.path.startswith("/api/"):
            return {"error": str(exc)}, code
        return {"error": str(exc)}, code
