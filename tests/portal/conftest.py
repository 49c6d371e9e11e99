"""Portal fixtures: a challenge with stored artifacts, an invitation, a signed-in client."""

from __future__ import annotations

import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from heldout.platform.services import invitations
from tests.factories import latest_version, make_challenge

BRIEF = """# Predict which customers leave

Use `data/train.csv` to predict `churned` for every row of `data/test.csv`.

| column | meaning |
|---|---|
| tenure | months as a customer |
"""


def notebook(source: str = "print(1)") -> bytes:
    return json.dumps(
        {
            "cells": [
                {
                    "cell_type": "code",
                    "source": source,
                    "metadata": {},
                    "outputs": [],
                    "execution_count": None,
                }
            ],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    ).encode()


def bundle_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("data/train.csv", "id,tenure,churned\n1,3,0\n2,40,1\n")
        archive.writestr("data/test.csv", "id,tenure\n3,5\n")
        archive.writestr("brief.md", BRIEF)
    return buffer.getvalue()


@dataclass
class Invited:
    token: str
    invitation_id: int
    slug: str


def invite_to_new_challenge(app: Flask, email: str = "ada@example.com", **spec: Any) -> Invited:
    """A challenge with a stored bundle and starter, and an invitation to it."""
    sv = app.extensions["heldout"]
    with sv.db.session() as session:
        challenge = make_challenge(session)
        challenge.title = "Predict customer churn"
        version = latest_version(challenge)
        version.spec = {
            "slug": challenge.slug,
            "limits": {"submissions": 3, "timeout_s": 600, "memory_mb": 2048, "cpus": 1},
            "data": {"id": "id", "target": "churned"},
            "split": {"private_fraction": 0.5},
            "metric": {"name": "f1"},
            **spec,
        }
        version.brief = BRIEF
        version.starter_key = f"c/{challenge.slug}/starter.ipynb"
        keys = (version.bundle_key, version.starter_key)
        slug = challenge.slug
    sv.storage.put_bytes(keys[0], bundle_zip(), "application/zip")
    sv.storage.put_bytes(keys[1], notebook("import pandas as pd"))
    issued = invitations.invite(sv.db, sv.config, slug, email)
    return Invited(issued.token, issued.id, slug)


@pytest.fixture
def invited(app: Flask) -> Invited:
    return invite_to_new_challenge(app)


@pytest.fixture
def signed_in(client: FlaskClient, invited: Invited) -> FlaskClient:
    response = client.get(f"/i/{invited.token}")
    assert response.status_code == 303
    return client


def csrf_of(client: FlaskClient) -> str:
    page = client.get("/challenge").get_data(as_text=True)
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found, "the page carries a CSRF token"
    return found.group(1)


def switch_to(client: FlaskClient, token: str) -> None:
    """Open another invitation in a signed-in client: the link, then the confirmation's POST."""
    assert client.get(f"/i/{token}").headers["Location"] == "/i/switch"
    page = client.get("/i/switch").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the confirmation carries a CSRF token"
    assert client.post("/i/switch", data={"csrf_token": found.group(1)}).status_code == 303
