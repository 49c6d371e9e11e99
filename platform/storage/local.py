"""Local-directory storage: the embedded default ($HELDOUT_HOME/storage)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse

from heldout.platform.config import Config
from heldout.platform.errors import InvalidInput, NotFound, StorageUnavailable
from heldout.platform.storage import CHUNK, Storage, check_key, register


class LocalStorage(Storage):
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(
        self,
        key: str,
        stream: BinaryIO,
        size: int = -1,
        content_type: str = "application/octet-stream",
    ) -> int:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        # Write beside the target, then rename: readers never see half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    out.write(chunk)
                    written += len(chunk)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return written

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise NotFound(f"no stored file {key!r}") from None

    def read_range(self, key: str, start: int, length: int) -> Iterator[bytes]:
        with self.open(key) as stream:
            stream.seek(start)
            left = length
            while left > 0 and (chunk := stream.read(min(CHUNK, left))):
                left -= len(chunk)
                yield chunk

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"no stored file {key!r}") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> list[str]:
        if not self.root.exists():
            return []
        keys = (
            path.relative_to(self.root).as_posix()
            for path in self.root.rglob("*")
            if path.is_file() and not path.name.startswith(".tmp-")
        )
        return sorted(key for key in keys if key.startswith(prefix))

    def write_part(self, upload: str, offset: int, stream: BinaryIO, size: int) -> int:
        """Write in place into one growing file: resuming truncates back to `offset`."""
        path = self._path(upload)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+b", buffering=0) as out:
            have = out.seek(0, os.SEEK_END)
            if have < offset:
                raise InvalidInput(
                    f"the upload has {have} bytes; it cannot continue at byte {offset}"
                )
            out.truncate(offset)
            out.seek(offset)
            # One reused buffer: no fresh 8 MiB allocation (and its page faults) per read.
            buffer = bytearray(CHUNK)
            view = memoryview(buffer)
            readinto = getattr(stream, "readinto", None)
            left = size
            while left > 0:
                want = min(CHUNK, left)
                if readinto is not None:
                    got = readinto(view[:want]) or 0
                else:
                    data = stream.read(want)
                    got = len(data)
                    view[:got] = data
                if not got:
                    break
                out.write(view[:got])
                left -= got
        if left:
            raise InvalidInput(f"expected {size} bytes but received {size - left}")
        return size

    def finish_parts(
        self, upload: str, key: str, content_type: str = "application/octet-stream"
    ) -> int:
        source, target = self._path(upload), self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)
        except FileNotFoundError:
            raise NotFound(f"no upload {upload!r}") from None
        return target.stat().st_size

    def drop_parts(self, upload: str) -> None:
        self._path(upload).unlink(missing_ok=True)

    def check(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".tmp-"):
                pass
        except OSError as exc:
            raise StorageUnavailable(
                f"cannot write to the storage directory {self.root}: {exc.strerror}. "
                "Check HELDOUT_STORAGE_URL or HELDOUT_HOME."
            ) from None


@register("file")
def _from_config(config: Config) -> Storage:
    url = config.storage_url
    path = urlparse(url).path if url.startswith("file://") else url
    return LocalStorage(Path(path).resolve())
