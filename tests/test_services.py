"""The real services the suite relies on are really there (fail under CI when missing)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.services import PostgresServer


@pytest.mark.docker
def test_docker_engine_runs_containers(docker_client: Any) -> None:
    info = docker_client.info()
    assert info["ServerVersion"]


@pytest.mark.postgres
def test_postgres_answers(postgres_server: PostgresServer) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_server.url())
    with engine.connect() as conn:
        assert conn.execute(sqlalchemy.text("select 1")).scalar() == 1
    engine.dispose()


@pytest.mark.browser
def test_chromium_renders_a_page(page: Any) -> None:
    page.set_content("<h1 id=t>Heldout</h1>")
    assert page.inner_text("#t") == "Heldout"
