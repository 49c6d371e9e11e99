"""Fixtures for the platform's tests: every storage test runs on both backends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from heldout.platform.config import Config
from heldout.platform.storage import Storage, open_storage
from tests.services import S3Server


def s3_config(endpoint: str, bucket: str) -> Config:
    return Config.from_env(
        {
            "HELDOUT_STORAGE_URL": f"s3://{bucket}",
            "HELDOUT_S3_ENDPOINT": endpoint,
            "HELDOUT_S3_ACCESS_KEY": "testing",
            "HELDOUT_S3_SECRET_KEY": "testing",
        }
    )


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "local":
        backend = open_storage(Config.from_env({"HELDOUT_HOME": str(tmp_path)}))
    else:
        server: S3Server = request.getfixturevalue("s3_server")
        backend = open_storage(s3_config(server.endpoint, f"b-{uuid.uuid4().hex[:10]}"))
    backend.check()
    yield backend
