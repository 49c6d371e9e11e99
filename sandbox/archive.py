"""Tar streams in and out of a container: inputs copied in read-only, outputs out with caps.

Copying (put_archive / get_archive) instead of bind mounts works with a remote DOCKER_HOST
and never exposes a host path inside the container.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from heldout.sandbox.notebook import data_files

ROOT_OWNED_DIR = 0o555
ROOT_OWNED_FILE = 0o444
# Go's os.FileMode type bits, as docker reports them in the archive stat header.
_NOT_REGULAR = (1 << 31) | (1 << 27) | (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19)
_SYMLINK = 1 << 27


def _info(name: str, *, directory: bool = False, size: int = 0) -> tarfile.TarInfo:
    # uid 0 and no write bits: the notebook (uid 10001, no capabilities) can read, never change
    info = tarfile.TarInfo(name)
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    info.mtime = 0
    if directory:
        info.type = tarfile.DIRTYPE
        info.mode = ROOT_OWNED_DIR
    else:
        info.mode = ROOT_OWNED_FILE
        info.size = size
    return info


def inputs_tar(notebook: Path, name: str, data_dir: Path) -> IO[bytes]:
    """A tar of the notebook as `name` and the data as `data/`, root-owned and read-only."""
    spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115  (the caller closes it; anonymous)
    with tarfile.open(fileobj=spool, mode="w") as tar:
        with notebook.open("rb") as handle:
            tar.addfile(_info(name, size=notebook.stat().st_size), handle)
        tar.addfile(_info("data", directory=True))
        for path in data_files(data_dir):
            rel = path.relative_to(data_dir)
            for parent in reversed(rel.parents[:-1]):
                tar.addfile(_info(f"data/{parent.as_posix()}", directory=True))
            with path.open("rb") as handle:
                tar.addfile(_info(f"data/{rel.as_posix()}", size=path.stat().st_size), handle)
    spool.seek(0)
    return spool


def control_tar(settings: dict[str, Any]) -> bytes:
    """`go.json` for the runner's outbox: the runner starts the notebook when it appears."""
    body = json.dumps(settings).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.addfile(_info("go.json", size=len(body)), io.BytesIO(body))
    return buffer.getvalue()


class _ChunkReader(io.RawIOBase):
    """A file over docker-py's chunk generator, for tarfile's streaming mode."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def fetch_file(container: Any, path: str, dest: Path, cap_bytes: int) -> str | None:
    """Copy one regular file out of the container to `dest`; None, or why it was not copied."""
    import docker.errors

    label = Path(path).name
    try:
        chunks, stat = container.get_archive(path, chunk_size=1 << 20)
    except docker.errors.NotFound:
        return f"{label} was not written"
    mode = int(stat.get("mode", 0))
    if mode & _SYMLINK:
        return f"{label} is a symbolic link; only a regular file is collected"
    if mode & _NOT_REGULAR:
        return f"{label} is not a regular file"
    if int(stat.get("size", 0)) > cap_bytes:
        return (
            f"{label} is {int(stat['size']) / 2**20:.1f} MB, over the "
            f"{cap_bytes / 2**20:.0f} MB limit"
        )
    with tarfile.open(fileobj=io.BufferedReader(_ChunkReader(chunks)), mode="r|") as tar:
        member = tar.next()
        if member is None or not member.isreg() or member.size > cap_bytes:
            return f"{label} is not a regular file within the size limit"
        source = tar.extractfile(member)
        if source is None:
            return f"{label} is not a regular file"
        partial = dest.with_name(dest.name + ".partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as out:
            copied = 0
            for block in iter(lambda: source.read(1 << 20), b""):
                copied += len(block)
                if copied > cap_bytes:
                    break
                out.write(block)
        if copied > cap_bytes:
            partial.unlink()
            return f"{label} grew over the size limit while being copied"
        partial.replace(dest)
    return None


def read_small(container: Any, path: str, cap_bytes: int) -> bytes | None:
    """The bytes of a small regular file in the container, or None."""
    with tempfile.TemporaryDirectory(prefix="heldout-fetch-") as tmp:
        dest = Path(tmp) / "file"
        if fetch_file(container, path, dest, cap_bytes) is not None:
            return None
        return dest.read_bytes()
