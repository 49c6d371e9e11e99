"""The runtime image: its content-hash tag, and building it with or without a registry."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heldout.sandbox.engine import connect
from heldout.sandbox.errors import SandboxError

# resolve(): a strict editable install links files one by one; the real folder has them all.
HERE = Path(__file__).resolve().parent
IMAGE_REPO = "heldout-sandbox"
BASE_REPO = "heldout-sandbox-base"
ONLINE_BASE = "python:3.11-slim"
# Everything that ends up in the image; a change to any of them makes a new tag.
IMAGE_FILES = (
    "Dockerfile",
    "image/offline.Dockerfile",
    "image/rootfs.sh",
    "image/kernel.py",
    "image/runner.py",
    "requirements.txt",
)
# What the offline base (debootstrap + venv) is made from; it is cached under its own tag.
BASE_FILES = ("image/rootfs.sh", "requirements.txt")
IMAGE_ENV = "HELDOUT_SANDBOX_IMAGE"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class BuildResult:
    """What `build_image` did: the tag, whether it built anything, how, and how long it took."""

    tag: str
    built: bool
    mode: str  # "cached" | "online" | "offline" | "external"
    seconds: float


def content_hash(names: Iterable[str]) -> str:
    """A short sha256 over the names and bytes of files under the sandbox package."""
    digest = hashlib.sha256()
    for name in sorted(names):
        digest.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def image_tag() -> str:
    """The runtime image to run: HELDOUT_SANDBOX_IMAGE if set, else our content-hash tag."""
    return os.environ.get(IMAGE_ENV, "").strip() or f"{IMAGE_REPO}:{content_hash(IMAGE_FILES)}"


def base_tag() -> str:
    return f"{BASE_REPO}:{content_hash(BASE_FILES)}"


def _quiet(_: str) -> None:
    """Default progress sink."""


def build_image(
    offline: bool | None = None, progress: Progress | None = None, client: Any = None
) -> BuildResult:
    """Build the runtime image unless its tag exists; `offline=None` picks by probing a registry."""
    say = progress or _quiet
    started = time.monotonic()
    client = client or connect()
    tag = image_tag()
    if _exists(client, tag):
        say(f"{tag} is up to date")
        return BuildResult(tag, False, "cached", time.monotonic() - started)
    if os.environ.get(IMAGE_ENV, "").strip():
        raise SandboxError(
            f"{IMAGE_ENV}={tag} names an image this engine does not have; "
            f"load it first or unset {IMAGE_ENV} to build the default image"
        )
    if offline is None:
        offline = not _registry_answers(client, say)
    if offline:
        base = base_tag()
        if not _exists(client, base):
            _build_base(client, base, say)
        _docker_build(client, tag, "image/offline.Dockerfile", {"BASE": base}, say)
    else:
        _docker_build(client, tag, "Dockerfile", {}, say)
    say(f"built {tag} ({'offline' if offline else 'online'})")
    _prune(client, keep={tag, base_tag()}, say=say)
    return BuildResult(tag, True, "offline" if offline else "online", time.monotonic() - started)


KEEP_IMAGES = 3  # the newest runtime images and bases kept: a rolling upgrade, a second checkout


def _prune(client: Any, keep: set[str], say: Progress) -> None:
    """Untag older runtime images and bases so rebuilds do not pile up on disk.

    The newest few of each stay: a worker of the previous release (or another checkout on the
    same engine) may still run notebooks on its image.
    """
    import docker.errors

    for repo in (IMAGE_REPO, BASE_REPO):
        images = sorted(
            client.images.list(name=repo),
            key=lambda i: str(i.attrs.get("Created", "")),
            reverse=True,
        )
        for image in images[KEEP_IMAGES:]:
            for old in set(image.tags) - keep:
                try:
                    client.images.remove(old)
                    say(f"removed the old image {old}")
                except docker.errors.APIError:
                    pass  # a container still uses it: the next build tries again


def _exists(client: Any, name: str) -> bool:
    import docker.errors

    try:
        client.images.get(name)
    except docker.errors.ImageNotFound:
        return False
    return True


def _registry_answers(client: Any, say: Progress) -> bool:
    """True when python:3.11-slim is here or can be pulled; no registry means offline."""
    import docker.errors

    if _exists(client, ONLINE_BASE):
        return True
    say(f"pulling {ONLINE_BASE}")
    try:
        client.images.pull(ONLINE_BASE)
    except docker.errors.APIError as exc:
        say(f"no registry answers ({_first_line(exc)}); building offline from Debian packages")
        return False
    return True


def _build_base(client: Any, base: str, say: Progress) -> None:
    """debootstrap + venv in a temporary directory, imported as `base`."""
    if os.geteuid() != 0:
        raise SandboxError("the offline image build runs debootstrap, which needs root")
    if shutil.which("debootstrap") is None:
        raise SandboxError(
            "the offline image build needs debootstrap (apt-get install debootstrap)"
        )
    work = Path(tempfile.mkdtemp(prefix="heldout-rootfs-"))
    try:
        tarball = work / "rootfs.tar"
        say(f"building the base {base} with debootstrap (a few minutes)")
        with tarball.open("wb") as out:
            proc = subprocess.Popen(  # noqa: S603
                [
                    "/bin/bash",
                    str(HERE / "image/rootfs.sh"),
                    str(work),
                    str(HERE / "requirements.txt"),
                ],
                stdout=out,
                stderr=subprocess.PIPE,
                text=True,
            )
            tail: list[str] = []
            for line in proc.stderr or ():
                say(line.rstrip())
                tail = [*tail[-19:], line.rstrip()]
            if proc.wait() != 0:
                raise SandboxError(
                    "the offline base build failed: " + (tail[-1] if tail else "no output")
                )
        say(f"importing {tarball.stat().st_size // 2**20} MB as {base}")
        repo, _, version = base.partition(":")
        client.api.import_image_from_file(str(tarball), repository=repo, tag=version)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _docker_build(
    client: Any, tag: str, dockerfile: str, args: dict[str, str], say: Progress
) -> None:
    import docker.errors

    say(f"docker build -f {dockerfile} -t {tag}")
    try:
        for chunk in client.api.build(
            path=str(HERE),
            dockerfile=dockerfile,
            tag=tag,
            buildargs=args,
            rm=True,
            forcerm=True,
            decode=True,
        ):
            if "error" in chunk:
                raise SandboxError(f"building {tag} failed: {chunk['error'].strip()}")
            text = str(chunk.get("stream", "")).rstrip()
            if text:
                say(text)
    except docker.errors.APIError as exc:
        raise SandboxError(f"building {tag} failed: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]
