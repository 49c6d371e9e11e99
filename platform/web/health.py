"""Liveness and readiness probes."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> dict[str, str]:
    """Alive: the process answers HTTP."""
    return {"status": "ok"}
