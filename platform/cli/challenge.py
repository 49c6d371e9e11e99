"""`heldout challenge ...`: author, build, publish and bundle challenges."""

from __future__ import annotations

import click

from heldout.platform.cli.common import not_yet


@click.group()
def challenge() -> None:
    """Author, build, publish and bundle challenges."""


for _name in ("new", "build", "publish", "list", "show", "bundle"):
    challenge.add_command(not_yet(_name))

COMMANDS = [challenge]
