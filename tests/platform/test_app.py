from __future__ import annotations

from flask.testing import FlaskClient


def test_healthz_answers(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}


def test_first_start_creates_home(client: FlaskClient, env: dict[str, str]) -> None:
    from pathlib import Path

    assert (Path(env["HELDOUT_HOME"]) / "secret_key").exists() or env["HELDOUT_SECRET_KEY"]
