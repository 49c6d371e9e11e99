"""The Flask application factory: config, database, storage and the three blueprints."""

from __future__ import annotations

from typing import Any

from flask import Flask

from heldout.platform.config import Config
from heldout.platform.db import Database
from heldout.platform.storage import Storage, open_storage


def create_app(test_config: dict[str, Any] | None = None, config: Config | None = None) -> Flask:
    """Build the app; `test_config` overrides Flask settings, `config` the HELDOUT_* ones."""
    settings = config or Config.from_env()
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config.update(
        SECRET_KEY=settings.secret_key(),
        MAX_CONTENT_LENGTH=2**20,  # raised per view by security.limit_body
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=bool(settings["HELDOUT_SECURE_COOKIES"]),
    )
    if test_config:
        app.config.update(test_config)

    database = Database(settings.database_url)
    database.upgrade()
    app.extensions["heldout"] = Services(settings, database, open_storage(settings))

    from heldout.platform.web import api, errors, health, metrics, portal, review, security

    app.register_blueprint(health.bp)
    app.register_blueprint(metrics.bp)
    app.register_blueprint(portal.bp)
    app.register_blueprint(review.bp, url_prefix="/review")
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    errors.init_app(app)
    security.init_app(app, media_origin=_media_origin(settings))
    if settings["HELDOUT_TRUSTED_PROXIES"]:
        app.wsgi_app = security.TrustedProxies(  # type: ignore[method-assign]
            app.wsgi_app, settings["HELDOUT_TRUSTED_PROXIES"]
        )
    return app


def _media_origin(settings: Config) -> str:
    """Browsers fetch S3 videos from the public endpoint: allow it in the CSP."""
    if not settings.storage_url.startswith("s3://"):
        return ""
    endpoint = settings["HELDOUT_S3_PUBLIC_ENDPOINT"] or settings["HELDOUT_S3_ENDPOINT"]
    return str(endpoint).rstrip("/")


class Services:
    """What views reach through `services()`: the config, database and storage."""

    def __init__(self, config: Config, db: Database, storage: Storage) -> None:
        self.config = config
        self.db = db
        self.storage = storage
