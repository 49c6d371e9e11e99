"""The explanation video: HTTP Range on local storage, a presigned URL on S3."""

from __future__ import annotations

import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from heldout.platform.config import Config
from tests.review.conftest import login, seed
from tests.services import S3Server

VIDEO = b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 40


def test_local_video_seeks_by_range(app: Flask) -> None:
    s = seed(app, video=VIDEO)
    client = app.test_client()
    login(client, s.reviewer)
    whole = client.get(f"/review/s/{s.submission_id}/video")
    assert whole.status_code == 200 and whole.data == VIDEO
    assert whole.headers["Accept-Ranges"] == "bytes"
    part = client.get(f"/review/s/{s.submission_id}/video", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.data == VIDEO[100:200]
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(VIDEO)}"


@pytest.fixture
def s3_app(s3_server: S3Server, tmp_path: Path, database_url: str) -> Iterator[Flask]:
    from heldout.platform.app import create_app

    config = Config.from_env(
        {
            "HELDOUT_HOME": str(tmp_path / "instance"),
            "HELDOUT_DATABASE_URL": database_url,
            "HELDOUT_SECRET_KEY": "test-secret",
            "HELDOUT_STORAGE_URL": f"s3://review-{uuid.uuid4().hex[:10]}",
            "HELDOUT_S3_ENDPOINT": s3_server.endpoint,
            "HELDOUT_S3_ACCESS_KEY": "testing",
            "HELDOUT_S3_SECRET_KEY": "testing",
        }
    )
    application = create_app({"TESTING": True}, config=config)
    application.extensions["heldout"].storage.check()
    yield application
    application.extensions["heldout"].db.dispose()


@pytest.mark.s3
def test_s3_video_is_a_presigned_url_the_page_may_load(s3_app: Flask, s3_server: S3Server) -> None:
    s = seed(s3_app, video=VIDEO)
    client = s3_app.test_client()
    login(client, s.reviewer)
    response = client.get(f"/review/s/{s.submission_id}/video")
    assert response.status_code == 302
    url = response.headers["Location"]
    assert url.startswith(s3_server.endpoint) and "X-Amz-Signature" in url
    request = urllib.request.Request(url, headers={"Range": "bytes=100-199"})  # noqa: S310
    with urllib.request.urlopen(request) as fetched:  # noqa: S310  (127.0.0.1 test server)
        assert fetched.status == 206
        assert fetched.read() == VIDEO[100:200]
    page = client.get(f"/review/s/{s.submission_id}")
    assert s3_server.endpoint in page.headers["Content-Security-Policy"].split("media-src")[1]
