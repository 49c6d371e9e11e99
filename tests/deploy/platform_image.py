"""Build the platform image (`heldout-platform:<content hash>`), with or without a registry.

    python -m tests.deploy.platform_image            # probe a registry, then online or offline
    python -m tests.deploy.platform_image --offline  # base from Debian packages (debootstrap)

Online it is `docker build .` (FROM python:3.11-slim). Offline it mirrors the sandbox image's
build: debootstrap minbase bookworm with python3 (3.11) and venv, imported once as
`heldout-platform-base:<hash>`; then the same Dockerfile runs FROM that base on a context that
holds only `wheelhouse/` (this project's wheel and its dependencies, fetched by the host's pip),
so the build needs neither a registry nor network inside the build.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
IMAGE_REPO = "heldout-platform"
BASE_REPO = "heldout-platform-base"
ONLINE_BASE = "python:3.11-slim"
PACKAGES = ("platform", "graders", "challenges", "sandbox")
# Wheels the offline base (glibc 2.36, CPython 3.11) can load.
GLIBC_TAGS = ("17", "24", "27", "28", "31", "34", "35", "36")

Say = Callable[[str], None]


@dataclass(frozen=True)
class Built:
    tag: str
    built: bool
    mode: str  # cached | online | offline
    seconds: float


def _files() -> list[Path]:
    found = [REPO / "Dockerfile", REPO / ".dockerignore", REPO / "pyproject.toml"]
    found += [REPO / "README.md", HERE / "platform_rootfs.sh"]
    for package in PACKAGES:
        found += [
            path
            for path in (REPO / package).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        ]
    return sorted(found)


def content_hash(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def image_tag() -> str:
    return f"{IMAGE_REPO}:{content_hash(_files())}"


def base_tag() -> str:
    return f"{BASE_REPO}:{content_hash([HERE / 'platform_rootfs.sh'])}"


def _docker(
    *args: str, check: bool = True, quiet: bool = False
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args],
        check=check,
        text=True,
        stdout=subprocess.PIPE if quiet else None,
        stderr=subprocess.PIPE if quiet else None,
    )


def exists(image: str) -> bool:
    return _docker("image", "inspect", image, check=False, quiet=True).returncode == 0


def registry_answers(say: Say) -> bool:
    if exists(ONLINE_BASE):
        return True
    say(f"pulling {ONLINE_BASE}")
    pulled = _docker("pull", ONLINE_BASE, check=False, quiet=True)
    if pulled.returncode != 0:
        say("no registry answers; building offline from Debian packages")
    return pulled.returncode == 0


def build(offline: bool | None = None, say: Say = print) -> Built:
    """Build the image unless its content-hash tag exists."""
    started = time.monotonic()
    tag = image_tag()
    if exists(tag):
        return Built(tag, False, "cached", time.monotonic() - started)
    if offline is None:
        offline = not registry_answers(say)
    if not offline:
        _docker("build", "--tag", tag, str(REPO))
        return Built(tag, True, "online", time.monotonic() - started)
    base = base_tag()
    if not exists(base):
        _build_base(base, say)
    with tempfile.TemporaryDirectory(prefix="heldout-platform-ctx-") as context:
        _wheelhouse(Path(context) / "wheelhouse", say)
        shutil.copy(REPO / "Dockerfile", Path(context) / "Dockerfile")
        say(f"docker build FROM {base}")
        _docker("build", "--build-arg", f"BASE={base}", "--tag", tag, context)
    return Built(tag, True, "offline", time.monotonic() - started)


def _build_base(base: str, say: Say) -> None:
    if os.geteuid() != 0 or shutil.which("debootstrap") is None:
        raise RuntimeError("the offline build needs root and debootstrap (apt-get install it)")
    with tempfile.TemporaryDirectory(prefix="heldout-platform-rootfs-") as work:
        tarball = Path(work) / "rootfs.tar"
        say(f"building {base} with debootstrap (about a minute)")
        with tarball.open("wb") as out:
            subprocess.run(["bash", str(HERE / "platform_rootfs.sh"), work], stdout=out, check=True)
        repo, _, version = base.partition(":")
        _docker("import", str(tarball), f"{repo}:{version}", quiet=True)


def _wheelhouse(target: Path, say: Say) -> None:
    """This project's wheel and every dependency as manylinux/pure wheels for CPython 3.11."""
    target.mkdir(parents=True)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    say("building the heldout wheel")
    subprocess.run([*pip, "wheel", "-q", "--no-deps", "-w", str(target), str(REPO)], check=True)
    (wheel,) = target.glob("heldout-*.whl")
    platforms = [f"--platform=manylinux_2_{tag}_x86_64" for tag in GLIBC_TAGS]
    say("fetching dependency wheels (the host's pip cache and index)")
    subprocess.run(
        [
            *pip,
            "download",
            "-q",
            "--only-binary=:all:",
            "--python-version=3.11",
            "--implementation=cp",
            "--abi=cp311",
            *platforms,
            "--platform=manylinux2014_x86_64",
            "--platform=any",
            "-d",
            str(target),
            str(wheel),
        ],
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--offline", action="store_true", help="Build the base with debootstrap.")
    mode.add_argument("--online", action="store_true", help="FROM python:3.11-slim.")
    args = parser.parse_args()
    offline = True if args.offline else False if args.online else None
    built = build(offline, say=lambda line: print(line, file=sys.stderr))
    print(f"{built.tag} ({built.mode}, {built.seconds:.0f}s)")


if __name__ == "__main__":
    main()
