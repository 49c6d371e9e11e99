"""`heldout sandbox ...`: build the runtime image and run notebooks in it."""

from __future__ import annotations

import click

from heldout.platform.cli.common import not_yet


@click.group()
def sandbox() -> None:
    """Build the runtime image and run notebooks in the sandbox."""


for _name in ("build-image", "run", "reap"):
    sandbox.add_command(not_yet(_name))

COMMANDS = [sandbox]
