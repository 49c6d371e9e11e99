"""`heldout user ...`: reviewer and admin accounts."""

from __future__ import annotations

import sys

import click

from heldout.platform.cli.common import echo_json, open_database


@click.group()
def user() -> None:
    """Reviewer and admin accounts."""


@user.command()
@click.argument("email")
@click.option("--role", type=click.Choice(["reviewer", "admin"]), required=True)
@click.option("--name", default="", help="Display name.")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input (else prompt).",
)
def add(email: str, role: str, name: str, password_stdin: bool) -> None:
    """Create an account, or reset the role and password of an existing one."""
    from heldout.platform.services import accounts

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    made = accounts.add_user(open_database(), email, role, password, name)
    click.echo(f"{made.email}\t{made.role}\tid {made.id}")


@user.command()
@click.argument("email")
@click.argument("slug")
def assign(email: str, slug: str) -> None:
    """Let a reviewer see and review one challenge (admins see all without this)."""
    from heldout.platform.services import accounts

    added = accounts.assign(open_database(), email, slug)
    click.echo(f"{email} {'assigned to' if added else 'was already assigned to'} {slug}")


@user.command()
@click.argument("email")
def disable(email: str) -> None:
    """Disable an account and sign it out everywhere (`user add` enables it again)."""
    from heldout.platform.services import accounts

    changed = accounts.disable(open_database(), email)
    click.echo(
        f"{email} {'disabled; its sessions have ended' if changed else 'was already disabled'}"
    )


@user.command()
@click.argument("email")
@click.argument("slug")
def unassign(email: str, slug: str) -> None:
    """Take one challenge away from a reviewer (at once, also in open sessions)."""
    from heldout.platform.services import accounts

    removed = accounts.unassign(open_database(), email, slug)
    click.echo(f"{email} {'unassigned from' if removed else 'was not assigned to'} {slug}")


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_(as_json: bool) -> None:
    """List accounts with their roles and assigned challenges."""
    from heldout.platform.services import accounts

    rows = accounts.list_users(open_database())
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        slugs = ",".join(row["challenges"]) or "-"  # type: ignore[arg-type]
        state = " (disabled)" if row["disabled"] else ""
        click.echo(f"{row['email']}\t{row['role']}{state}\t{slugs}")


COMMANDS = [user]
