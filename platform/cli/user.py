"""`heldout user ...`: reviewer and admin accounts."""

from __future__ import annotations

import click

from heldout.platform.cli.common import not_yet


@click.group()
def user() -> None:
    """Reviewer and admin accounts."""


for _name in ("add", "assign", "list"):
    user.add_command(not_yet(_name))

COMMANDS = [user]
