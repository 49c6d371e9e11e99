"""`heldout invite ...`: invite candidates to a challenge, list and revoke invitations."""

from __future__ import annotations

import click

from heldout.platform.cli.common import echo_json, load_config, open_database


class InviteGroup(click.Group):
    """`heldout invite SLUG EMAIL...` invites; `list` and `revoke` are subcommands."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands:
            return "send", self.commands["send"], args
        return super().resolve_command(ctx, args)


@click.group(cls=InviteGroup, invoke_without_command=False)
def invite() -> None:
    """Invite candidates: `heldout invite SLUG EMAIL... [--json]`; also list, revoke, grant."""


@invite.command("send", hidden=True)
@click.argument("slug")
@click.argument("emails", nargs=-1, required=True)
@click.option("--name", default="", help="Candidate's name (hidden from blind reviewers).")
@click.option("--days", type=int, default=None, help="Days the link stays valid (positive).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {token, url} per e-mail.")
def send(slug: str, emails: tuple[str, ...], name: str, days: int | None, as_json: bool) -> None:
    """Create invitations and print each candidate's link (shown once: keep it)."""
    from heldout.platform.services import invitations, mail

    config = load_config()
    db = open_database(config)
    issued = [invitations.invite(db, config, slug, email, name, days) for email in emails]
    sent = [mail.send_invitation(config, one, slug) for one in issued]
    if issued[0].challenge_state == "draft":
        click.echo(
            f"note: {slug} is still a draft; these links work, and "
            f"`heldout challenge publish {slug}` marks it ready.",
            err=True,
        )
    if as_json:
        rows = [
            {
                "token": i.token,
                "url": i.url,
                "email": i.email,
                "id": i.id,
                "expires_at": i.expires_at,
                "emailed": s,
            }
            for i, s in zip(issued, sent, strict=True)
        ]
        echo_json(rows[0] if len(rows) == 1 else rows)
        return
    for one, emailed in zip(issued, sent, strict=True):
        click.echo(f"{one.email}\t{one.url}" + ("\t(e-mailed)" if emailed else ""))


@invite.command("list")
@click.argument("slug", required=False)
@click.option("--json", "as_json", is_flag=True)
def list_(slug: str | None, as_json: bool) -> None:
    """List invitations (tokens are never shown again)."""
    from heldout.platform.services import invitations

    rows = invitations.list_invitations(open_database(), slug)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        state = "revoked" if row["revoked"] else f"expires {row['expires_at'] or 'never'}"
        click.echo(f"{row['id']}\t{row['challenge']}\t{row['email']}\t{state}")


@invite.command()
@click.argument("email")
@click.argument("slug")
@click.argument("extra", type=click.IntRange(min=1))
def grant(email: str, slug: str, extra: int) -> None:
    """Give a candidate EXTRA more tries (scored submissions and attempts); logged in the audit."""
    from heldout.platform.services import invitations, submissions

    db = open_database()
    left = submissions.quota(db, invitations.grant(db, email, slug, extra))
    click.echo(
        f"granted {extra} more tries to {email} on {slug} ({left.granted} granted in all); "
        f"now {left.submissions.left} scored submissions and {left.attempts.left} attempts left"
    )


@invite.command()
@click.argument("ident")
def revoke(ident: str) -> None:
    """Revoke an invitation by id, token, or every invitation of an e-mail address."""
    from heldout.platform.services import invitations

    count = invitations.revoke(open_database(), ident)
    click.echo(f"revoked {count} invitation(s)")


COMMANDS = [invite]
