"""A static read of a notebook at upload: what will likely fail in the sandbox, as warnings.

Never a refusal (the read cannot run the code, and may be wrong); it catches the usual ways a
notebook that worked on a laptop fails here: an import the runtime lacks, a `%pip install`
(no network, no installs), an `input()` (no one to answer), a path that exists only on the
candidate's machine.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator

from heldout.platform.runtime import Runtime

MAX_WARNINGS = 10
_INSTALL = re.compile(r"^\s*[%!]\s*(pip3?|conda|mamba|uv)\b.*$", re.MULTILINE)
_MAGIC = re.compile(r"^\s*[%!?]")
_IMPORT = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_]\w*)", re.MULTILINE)
_ABSOLUTE = re.compile(
    r"^(?:[A-Za-z]:[\\/]|\\\\|~[\\/]|/(?:Users|home|Volumes|mnt|content|kaggle|media)/)"
)
_QUOTED = re.compile(r"""(['"])((?:[A-Za-z]:[\\/]|/(?:Users|home)/|~/)[^'"\n]*)\1""")


def read(notebook: bytes, runtime: Runtime) -> list[str]:
    """Warnings for the candidate, one sentence each, at most MAX_WARNINGS."""
    try:
        cells = json.loads(notebook).get("cells") or []
    except (ValueError, AttributeError):
        return []
    known = runtime.import_names()
    found: list[str] = []
    missing: dict[str, int] = {}
    for number, source in _code_cells(cells):
        for line in _INSTALL.finditer(source):
            found.append(
                f"Cell {number} runs `{_clip(line.group(0).strip())}`: runs have no network and "
                "cannot install packages, so the run will stop there. Remove the line and use "
                "the packages in requirements.txt."
            )
        code = "\n".join("" if _MAGIC.match(line) else line for line in source.splitlines())
        try:
            tree = ast.parse(code)
        except SyntaxError:
            modules = set(_IMPORT.findall(code))
            paths = [m.group(2) for m in _QUOTED.finditer(code)]
            calls_input = "input(" in code
        else:
            modules, paths, calls_input = _walk(tree)
        for module in sorted(modules - known):
            missing.setdefault(module, number)
        if calls_input:
            found.append(
                f"Cell {number} calls input(): runs are not interactive, so it will fail. "
                "Set the value in the code instead."
            )
        for path in dict.fromkeys(paths):
            found.append(
                f"Cell {number} uses the path {_clip(path)!r}, which exists only on your "
                "computer. Read files relative to the notebook, such as data/train.csv."
            )
    for module, number in missing.items():
        found.insert(
            0,
            f"Cell {number} imports {module}, which the runtime does not have (see "
            "requirements.txt in the download): the run will stop there with "
            "ModuleNotFoundError.",
        )
    return found[:MAX_WARNINGS]


def _code_cells(cells: list[object]) -> Iterator[tuple[int, str]]:
    for number, cell in enumerate(cells, start=1):
        if isinstance(cell, dict) and cell.get("cell_type") == "code":
            source = cell.get("source", "")
            yield number, "".join(source) if isinstance(source, list) else str(source)


def _walk(tree: ast.AST) -> tuple[set[str], list[str], bool]:
    modules: set[str] = set()
    paths: list[str] = []
    calls_input = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            calls_input |= node.func.id == "input"
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and _ABSOLUTE.match(node.value)
        ):
            paths.append(node.value)
    return modules, paths, calls_input


def _clip(text: str, size: int = 80) -> str:
    return text if len(text) <= size else text[:size] + "..."
