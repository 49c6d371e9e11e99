"""The api blueprint."""

from __future__ import annotations

from flask import Blueprint

from heldout.platform.errors import NotYetAvailable

bp = Blueprint("api", __name__)


@bp.get("/")
def index() -> str:
    raise NotYetAvailable("this page is not yet available")
