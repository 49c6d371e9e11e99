"""`heldout invite ...`: invite candidates to a challenge."""

from __future__ import annotations

from heldout.platform.cli.common import not_yet

COMMANDS = [not_yet("invite")]
