"""`heldout grade` and `heldout metrics`: score a predictions file, list the metrics."""

from __future__ import annotations

from heldout.platform.cli.common import not_yet

COMMANDS = [not_yet("grade"), not_yet("metrics")]
