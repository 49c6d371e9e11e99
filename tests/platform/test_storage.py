"""Both storage backends behave the same: local directory and S3 over real HTTP (moto)."""

from __future__ import annotations

import io
import urllib.request
from pathlib import Path

import pytest

from heldout.platform.config import Config
from heldout.platform.errors import ConfigError, InvalidInput, NotFound, StorageUnavailable
from heldout.platform.storage import Storage, open_storage
from tests.platform.conftest import s3_config
from tests.services import S3Server, free_port


def test_put_then_read_streams_back_same_bytes(storage: Storage) -> None:
    data = bytes(range(256)) * 20_000  # 5 MB, several chunks
    assert storage.put("a/b/blob.bin", io.BytesIO(data), len(data)) == len(data)
    assert storage.read_bytes("a/b/blob.bin") == data
    assert storage.size("a/b/blob.bin") == len(data)


def test_put_of_unknown_length_stream(storage: Storage) -> None:
    data = b"x" * (3 * 1024 * 1024 + 7)
    assert storage.put("u/stream.bin", io.BytesIO(data)) == len(data)
    assert storage.size("u/stream.bin") == len(data)


def test_ranged_read_returns_exact_slice(storage: Storage) -> None:
    data = bytes(range(256)) * 100
    storage.put_bytes("r.bin", data)
    assert b"".join(storage.read_range("r.bin", 1000, 500)) == data[1000:1500]


def test_content_addressed_keys_deduplicate(storage: Storage) -> None:
    key1, sha1, size1 = storage.put_content_addressed("submissions", io.BytesIO(b"{}"), ".ipynb")
    key2, sha2, _ = storage.put_content_addressed("submissions", io.BytesIO(b"{}"), ".ipynb")
    assert key1 == key2 == f"submissions/{sha1[:2]}/{sha1}.ipynb"
    assert (sha1, size1) == (sha2, 2)
    assert storage.list("submissions/") == [key1]


def test_missing_key_raises_not_found(storage: Storage) -> None:
    with pytest.raises(NotFound):
        storage.read_bytes("nope.bin")
    with pytest.raises(NotFound):
        storage.size("nope.bin")
    assert not storage.exists("nope.bin")
    storage.delete("nope.bin")  # deleting nothing is fine


def test_delete_removes(storage: Storage) -> None:
    storage.put_bytes("d.bin", b"1")
    storage.delete("d.bin")
    assert not storage.exists("d.bin")


@pytest.mark.parametrize("key", ["../etc/passwd", "/abs", "a/../../b", "a//b", "a/./b", ""])
def test_keys_cannot_escape_root(storage: Storage, key: str) -> None:
    with pytest.raises(InvalidInput):
        storage.put_bytes(key, b"x")


def test_get_file_copies_to_disk(storage: Storage, tmp_path: Path) -> None:
    storage.put_bytes("f.txt", b"hello")
    storage.get_file("f.txt", tmp_path / "out" / "f.txt")
    assert (tmp_path / "out" / "f.txt").read_bytes() == b"hello"


def test_local_storage_has_no_presigned_url(tmp_path: Path) -> None:
    assert open_storage(Config.from_env({"HELDOUT_HOME": str(tmp_path)})).presigned_url("x") is None


@pytest.mark.s3
def test_s3_presigned_url_is_fetchable_over_http(s3_server: S3Server) -> None:
    storage = open_storage(s3_config(s3_server.endpoint, "presign"))
    storage.check()
    storage.put_bytes("v/video.webm", b"video-bytes")
    url = storage.presigned_url("v/video.webm", 60)
    assert url is not None and "X-Amz-Signature" in url
    with urllib.request.urlopen(url) as response:  # noqa: S310  (127.0.0.1 test server)
        assert response.read() == b"video-bytes"


@pytest.mark.s3
def test_s3_presigned_url_uses_public_endpoint(s3_server: S3Server) -> None:
    config = Config.from_env(
        {
            "HELDOUT_STORAGE_URL": "s3://pub",
            "HELDOUT_S3_ENDPOINT": s3_server.endpoint,
            "HELDOUT_S3_PUBLIC_ENDPOINT": "https://files.example.com",
            "HELDOUT_S3_ACCESS_KEY": "k",
            "HELDOUT_S3_SECRET_KEY": "s",
        }
    )
    url = open_storage(config).presigned_url("v/x.mp4")
    assert url is not None and url.startswith("https://files.example.com/pub/v/x.mp4?")


def test_unreachable_s3_is_storage_unavailable_with_clear_message() -> None:
    storage = open_storage(s3_config(f"http://127.0.0.1:{free_port()}", "down"))
    with pytest.raises(StorageUnavailable, match="cannot reach S3"):
        storage.check()


def test_unwritable_local_directory_is_storage_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    storage = open_storage(Config.from_env({"HELDOUT_STORAGE_URL": str(blocker / "sub")}))
    with pytest.raises(StorageUnavailable, match="storage directory"):
        storage.check()


def test_bad_s3_endpoint_is_config_error() -> None:
    with pytest.raises(ConfigError):
        open_storage(s3_config("http://", "b"))
