"""The `heldout` command line: one module per command group, errors as one clear line."""

from __future__ import annotations

import sys
from typing import Any

import click

from heldout.challenges.errors import ChallengeError
from heldout.graders.errors import GradingError
from heldout.platform.errors import HeldoutError
from heldout.sandbox.errors import SandboxError

# Every deliberate error of ours becomes one line on stderr and a non-zero exit.
DOMAIN_ERRORS = (HeldoutError, SandboxError, GradingError, ChallengeError)


class HeldoutGroup(click.Group):
    """Turns the domain errors into `error: ...` instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DOMAIN_ERRORS as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)


@click.group(cls=HeldoutGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="heldout")
def main() -> None:
    """Heldout: practical, untimed machine-learning hiring challenges."""


def _register() -> None:
    from heldout.platform.cli import (
        backup,
        challenge,
        grade,
        invite,
        sandbox,
        serve,
        submissions,
        user,
    )

    for module in (backup, challenge, grade, invite, sandbox, serve, submissions, user):
        for command in module.COMMANDS:
            main.add_command(command)


_register()
