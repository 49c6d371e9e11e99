"""The web layer: thin blueprints over the services."""

from __future__ import annotations

from flask import current_app

from heldout.platform.app import Services


def services() -> Services:
    """The config, database and storage of the running app."""
    found: Services = current_app.extensions["heldout"]
    return found
