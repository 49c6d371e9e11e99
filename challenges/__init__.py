"""Challenge authoring: challenge.toml, anonymization, PII scan, k-anonymity, split, bundles.

`load_spec` and `build` are imported lazily so that `heldout.challenges.errors` (which the CLI
imports at start) does not pull in pyarrow and numpy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from heldout.challenges.errors import ChallengeError

if TYPE_CHECKING:
    from heldout.challenges.builder import BuildOutput, build
    from heldout.challenges.spec import ChallengeSpec, load_spec

__all__ = ["BuildOutput", "ChallengeError", "ChallengeSpec", "build", "load_spec"]

_LAZY = {
    "BuildOutput": "heldout.challenges.builder",
    "build": "heldout.challenges.builder",
    "ChallengeSpec": "heldout.challenges.spec",
    "load_spec": "heldout.challenges.spec",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'heldout.challenges' has no attribute {name!r}")
