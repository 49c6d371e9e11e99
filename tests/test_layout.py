"""The repository layout keeps the standard library's `platform` importable."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_platform_folder_has_no_init() -> None:
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_import_platform_from_repo_root_gives_standard_library() -> None:
    out = subprocess.run(
        [sys.executable, "-c", "import platform; print(platform.__file__); platform.system()"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert not out.startswith(str(ROOT / "platform")), out
    assert out.endswith("platform.py")


def test_every_python_package_is_listed_in_pyproject() -> None:
    mapping = {
        "platform": "heldout.platform",
        "graders": "heldout.graders",
        "challenges": "heldout.challenges",
        "sandbox": "heldout.sandbox",
    }
    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = set()
    for folder, name in mapping.items():
        found.add(name)
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            if "examples" not in rel.parts and "__pycache__" not in rel.parts:
                found.add(".".join([name, *rel.parts]) if rel.parts else name)
    assert found == listed
