"""File storage: one interface, backends picked by HELDOUT_STORAGE_URL from a registry.

Keys are '/'-separated relative paths (`submissions/ab/abcdef....ipynb`). Reads and writes
stream in chunks; nothing holds a whole video in memory.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO, cast
from urllib.parse import urlparse

from heldout.platform.config import Config
from heldout.platform.errors import ConfigError, InvalidInput

CHUNK = 1024 * 1024
_KEY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


def check_key(key: str) -> str:
    """Refuse keys that could escape the storage root (`..`, absolute, odd characters)."""
    if not _KEY.match(key) or any(part in (".", "..") for part in key.split("/")):
        raise InvalidInput(f"invalid storage key {key!r}")
    return key


class Storage(ABC):
    """Where artifacts, notebooks and videos live."""

    name: str

    @abstractmethod
    def put(
        self,
        key: str,
        stream: BinaryIO,
        size: int = -1,
        content_type: str = "application/octet-stream",
    ) -> int:
        """Store everything `stream` yields under `key`; returns the bytes written."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """A readable stream of the object; raises NotFound."""

    @abstractmethod
    def read_range(self, key: str, start: int, length: int) -> Iterator[bytes]:
        """`length` bytes from offset `start`, in chunks (HTTP Range)."""

    @abstractmethod
    def size(self, key: str) -> int:
        """Size in bytes; raises NotFound."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object; missing objects are fine."""

    @abstractmethod
    def list(self, prefix: str) -> list[str]:
        """Keys starting with `prefix`, sorted."""

    @abstractmethod
    def check(self) -> None:
        """Raise StorageUnavailable with a clear line if the backend does not answer."""

    def presigned_url(self, key: str, expires_s: int = 3600) -> str | None:
        """A URL a browser can fetch directly, or None when the app must serve the bytes."""
        return None

    def put_bytes(
        self, key: str, data: bytes, content_type: str = "application/octet-stream"
    ) -> int:
        import io

        return self.put(key, io.BytesIO(data), len(data), content_type)

    def read_bytes(self, key: str) -> bytes:
        with self.open(key) as stream:
            return stream.read()

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream") -> int:
        with path.open("rb") as stream:
            return self.put(key, stream, path.stat().st_size, content_type)

    def get_file(self, key: str, path: Path) -> None:
        """Copy the object to a local file, streaming."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with self.open(key) as src, path.open("wb") as dst:
            while chunk := src.read(CHUNK):
                dst.write(chunk)

    def put_content_addressed(
        self,
        prefix: str,
        stream: BinaryIO,
        suffix: str = "",
        content_type: str = "application/octet-stream",
    ) -> tuple[str, str, int]:
        """Store under `prefix/<sha256[:2]>/<sha256><suffix>`; returns (key, sha256, size).

        The stream is spooled to a temporary file while hashing, so it is read once.
        """
        digest = hashlib.sha256()
        size = 0
        with tempfile.TemporaryFile() as spool:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                spool.write(chunk)
                size += len(chunk)
            sha = digest.hexdigest()
            key = f"{prefix}/{sha[:2]}/{sha}{suffix}"
            if not self.exists(key):
                spool.seek(0)
                self.put(key, spool, size, content_type)
        return key, sha, size

    # Resumable uploads: parts arrive at known offsets and become one object at the end.
    # The defaults keep each part as an object of its own; backends may do better.

    def _part_key(self, upload: str, offset: int) -> str:
        return f"{check_key(upload)}/{offset:015d}"

    def write_part(self, upload: str, offset: int, stream: BinaryIO, size: int) -> int:
        """Store `size` bytes of `stream` at `offset` of `upload`, replacing what lay past it."""
        for key in self.list(f"{check_key(upload)}/"):
            if int(key.rsplit("/", 1)[1]) >= offset:
                self.delete(key)
        return self.put(
            self._part_key(upload, offset), cast(BinaryIO, _Exactly(stream, size)), size
        )

    def finish_parts(
        self, upload: str, key: str, content_type: str = "application/octet-stream"
    ) -> int:
        """Join the parts of `upload`, in order, into the object `key`; returns its size."""
        parts = self.list(f"{check_key(upload)}/")
        written = self.put(key, cast(BinaryIO, _Joined(self, parts)), -1, content_type)
        self.drop_parts(upload)
        return written

    def drop_parts(self, upload: str) -> None:
        """Forget an unfinished upload."""
        for key in self.list(f"{check_key(upload)}/"):
            self.delete(key)


BACKENDS: dict[str, Callable[[Config], Storage]] = {}


def register(scheme: str) -> Callable[[Callable[[Config], Storage]], Callable[[Config], Storage]]:
    def add(factory: Callable[[Config], Storage]) -> Callable[[Config], Storage]:
        BACKENDS[scheme] = factory
        return factory

    return add


def open_storage(config: Config) -> Storage:
    """The backend HELDOUT_STORAGE_URL names (a path or file:// is local, s3:// is S3)."""
    from heldout.platform.storage import local, s3  # noqa: F401  (fill the registry)

    scheme = urlparse(config.storage_url).scheme or "file"
    if scheme not in BACKENDS:
        raise ConfigError(
            f"HELDOUT_STORAGE_URL scheme {scheme!r} is unknown; use one of {sorted(BACKENDS)}"
        )
    return BACKENDS[scheme](config)


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _Exactly:
    """Reads at most `size` bytes from `stream` (a request body may hold more, or less)."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self.stream, self.size, self.left = stream, size, size

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        want = self.left if size < 0 else min(size, self.left)
        data = self.stream.read(min(want, CHUNK * 8))
        if not data:
            raise InvalidInput(f"expected {self.size} bytes but received {self.size - self.left}")
        self.left -= len(data)
        return data


class _Joined:
    """One stream over several stored objects, read in order."""

    def __init__(self, storage: Storage, keys: list[str]) -> None:
        self.storage, self.keys = storage, list(keys)
        self.current: BinaryIO | None = None

    def read(self, size: int = -1) -> bytes:
        while True:
            if self.current is None:
                if not self.keys:
                    return b""
                self.current = self.storage.open(self.keys.pop(0))
            data = self.current.read(CHUNK if size < 0 else size)
            if data:
                return data
            self.current.close()
            self.current = None
