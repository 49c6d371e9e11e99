"""Shared fixtures: app/client/runner on a real temporary database, and the real services."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from heldout.platform.config import Config
from heldout.platform.db import Database
from tests import services

# ---------------------------------------------------------------- real services (session)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[services.PostgresServer]:
    try:
        server = services.PostgresServer()
    except Exception as exc:  # noqa: BLE001  (any failure to start means "unavailable")
        services.unavailable(f"PostgreSQL could not start: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[services.S3Server]:
    try:
        server = services.S3Server()
    except Exception as exc:  # noqa: BLE001
        services.unavailable(f"S3 server (moto) could not start: {exc}")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def docker_client() -> Any:
    try:
        return services.docker_client()
    except Exception as exc:  # noqa: BLE001
        services.unavailable(f"Docker engine not reachable: {exc}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(services.CHROMIUM).exists():
        services.unavailable("Chromium is not installed (apt-get install chromium)")
    with services.chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    opened = context.new_page()
    yield opened
    context.close()


# ---------------------------------------------------------------- databases


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every model test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'heldout.db'}"
    server: services.PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """HELDOUT_* settings for an isolated installation in tmp_path."""
    return {
        "HELDOUT_HOME": str(tmp_path / "instance"),
        "HELDOUT_DATABASE_URL": database_url,
        "HELDOUT_SECRET_KEY": "test-secret",
    }


@pytest.fixture
def config(env: dict[str, str]) -> Config:
    return Config.from_env(env)


@pytest.fixture
def db(config: Config) -> Iterator[Database]:
    database = Database(config.database_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def app(config: Config) -> Iterator[Flask]:
    from heldout.platform.app import create_app

    application = create_app({"TESTING": True}, config=config)
    yield application
    application.extensions["heldout"].db.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask, env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> FlaskCliRunner:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return app.test_cli_runner()


@pytest.fixture(autouse=True)
def _no_stray_heldout_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's own HELDOUT_* settings."""
    for key in list(os.environ):
        if key.startswith("HELDOUT_"):
            monkeypatch.delenv(key)
