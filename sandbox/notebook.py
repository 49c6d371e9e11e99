"""Checks a candidate's notebook before any container starts, and hashes inputs."""

from __future__ import annotations

import hashlib
import importlib
import json
import warnings
from pathlib import Path
from typing import Any

MAX_NOTEBOOK_MB = 20
READABLE = (3, 4)  # notebook format versions; 3 (IPython 1-2, old courses) is upgraded to 4
UPGRADED = "the notebook was in format version 3; it was upgraded to version 4 to run"


class Rejected(Exception):
    """The notebook cannot be run; the message is for the candidate."""


def check_notebook(path: Path, max_mb: int = MAX_NOTEBOOK_MB) -> dict[str, Any]:
    """The parsed notebook, or Rejected saying in plain words what is wrong with it."""
    if not path.is_file():
        raise Rejected(f"{path.name} is not a file")
    size = path.stat().st_size
    if size > max_mb * 2**20:
        raise Rejected(_too_large(size, max_mb))
    return check_notebook_bytes(path.read_bytes(), max_mb)


def _too_large(size: int, max_mb: int) -> str:
    return (
        f"the notebook is {size / 2**20:.1f} MB; the limit is {max_mb} MB "
        "(clear large outputs before submitting)"
    )


def check_notebook_bytes(raw: bytes, max_mb: int = MAX_NOTEBOOK_MB) -> dict[str, Any]:
    """The same checks on a notebook's bytes (the platform checks uploads with these)."""
    nbformat: Any = importlib.import_module("nbformat")  # untyped library

    if len(raw) > max_mb * 2**20:
        raise Rejected(_too_large(len(raw), max_mb))
    if not raw.strip():
        raise Rejected("the file is empty; upload your .ipynb notebook")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise Rejected(
            f"the file is not a Jupyter notebook: it is not valid JSON ({exc}); "
            "save it from Jupyter as .ipynb"
        ) from exc
    if not isinstance(data, dict) or "nbformat" not in data:
        raise Rejected(
            "the file is JSON but not a Jupyter notebook (it has no `nbformat` version); "
            "save it from Jupyter as .ipynb"
        )
    version = data.get("nbformat")
    if version not in READABLE:
        raise Rejected(
            f"the notebook uses format version {version!r}; versions 3 and 4 can be read "
            "(open it in a current Jupyter and save it again)"
        )
    cells = "worksheets" if version == 3 else "cells"
    if cells not in data:
        raise Rejected(
            f"the file says it is a version {version} notebook but has no `{cells}`; "
            "save it from Jupyter as .ipynb"
        )
    try:
        with warnings.catch_warnings():  # old notebooks lack cell ids: nbformat adds them
            warnings.simplefilter("ignore")
            # a version 3 notebook is upgraded to 4 (the runner reads it the same way)
            nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
            nbformat.validate(nb)
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise Rejected(f"the notebook does not match the Jupyter notebook schema: {first}") from exc
    if not any(c.get("cell_type") == "code" and str(c.get("source", "")).strip() for c in nb.cells):
        raise Rejected("the notebook has no code to run: every code cell is empty")
    return data


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_files(data_dir: Path) -> list[Path]:
    """Regular files under the data directory, sorted; links and devices are never copied."""
    return sorted(p for p in data_dir.rglob("*") if p.is_file() and not p.is_symlink())


def dir_sha256(data_dir: Path) -> str:
    """One hash for a directory: relative paths and contents of its regular files."""
    digest = hashlib.sha256()
    for path in data_files(data_dir):
        digest.update(str(path.relative_to(data_dir)).encode() + b"\0")
        digest.update(file_sha256(path).encode() + b"\n")
    return digest.hexdigest()
