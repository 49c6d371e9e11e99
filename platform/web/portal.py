"""The portal blueprint."""

from __future__ import annotations

from flask import Blueprint

from heldout.platform.errors import NotYetAvailable

bp = Blueprint("portal", __name__)


@bp.get("/")
def index() -> str:
    raise NotYetAvailable("this page is not yet available")
