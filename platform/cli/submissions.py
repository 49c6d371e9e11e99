"""`heldout submissions ...`: list and regrade submissions."""

from __future__ import annotations

import click

from heldout.platform.cli.common import not_yet


@click.group()
def submissions() -> None:
    """List and regrade submissions."""


for _name in ("list", "regrade"):
    submissions.add_command(not_yet(_name))

COMMANDS = [submissions]
