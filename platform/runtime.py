"""The runtime a candidate's notebook runs in, as the candidate is told it: the sandbox image's
Python version and exact packages (read from heldout.sandbox's requirements.txt, the file the
image is built from), and which of those packages answer to which import names."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

# Distributions whose import name is not their name in lower case with "-" as "_".
IMPORT_NAMES: dict[str, tuple[str, ...]] = {
    "scikit-learn": ("sklearn",),
    "python-dateutil": ("dateutil",),
    "pyyaml": ("yaml",),
    "pillow": ("PIL",),
    "xgboost-cpu": ("xgboost",),
    "ipython": ("IPython",),
    "pyzmq": ("zmq",),
    "attrs": ("attr", "attrs"),
    "fonttools": ("fontTools",),
    "rpds-py": ("rpds",),
}
_PYTHON = re.compile(r"Python (\d+\.\d+)")


@dataclass(frozen=True)
class Package:
    name: str
    version: str


@dataclass(frozen=True)
class Runtime:
    """The image's Python and its pinned packages, in the order of requirements.txt."""

    python: str
    packages: tuple[Package, ...]

    def requirements_txt(self) -> bytes:
        """The bundle's requirements.txt: `# Python X.Y`, then the image's exact pins."""
        lines = [f"# Python {self.python}"] + [f"{p.name}=={p.version}" for p in self.packages]
        return ("\n".join(lines) + "\n").encode()

    def import_names(self) -> frozenset[str]:
        """Top-level modules a notebook may import: the standard library and every package."""
        names = set(sys.stdlib_module_names)
        for package in self.packages:
            key = package.name.lower().replace("_", "-")
            names.update(IMPORT_NAMES.get(key, (key.replace("-", "_"),)))
        return frozenset(names)

    def as_json(self) -> dict[str, Any]:
        return {
            "python": self.python,
            "packages": [{"name": p.name, "version": p.version} for p in self.packages],
        }


def parse_requirements(text: str) -> Runtime:
    """Read a fully pinned requirements file; its header comment names the Python version."""
    python = "3.11"
    packages: list[Package] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            found = _PYTHON.search(line)
            if found and not packages:
                python = found.group(1)
            continue
        if line:
            name, _, version = line.partition("==")
            packages.append(Package(name.strip(), version.split(";")[0].strip()))
    return Runtime(python, tuple(packages))


def requirements_text() -> str:
    """heldout.sandbox's requirements.txt, exactly as the image is built from it."""
    return resources.files("heldout.sandbox").joinpath("requirements.txt").read_text()


@lru_cache(maxsize=1)
def runtime() -> Runtime:
    return parse_requirements(requirements_text())
