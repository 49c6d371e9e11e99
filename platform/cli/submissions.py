"""`heldout submissions ...`: list and regrade submissions."""

from __future__ import annotations

import click

from heldout.platform.cli.common import echo_json, open_database


@click.group()
def submissions() -> None:
    """List and regrade submissions."""


@submissions.command("list")
@click.option("--challenge", "slug", default=None, help="Only this challenge.")
@click.option("--status", type=click.Choice(["queued", "running", "scored", "failed"]))
@click.option("--json", "as_json", is_flag=True)
def list_(slug: str | None, status: str | None, as_json: bool) -> None:
    """Show submissions with their status and scores, newest first."""
    from heldout.platform.services.queueing import list_submissions

    rows = list_submissions(open_database(), slug, status)
    if as_json:
        echo_json(rows)
        return
    click.echo("id\tchallenge\tcandidate\tstatus\tpublic\tprivate")
    for r in rows:

        def fmt(x: object) -> str:
            return "-" if x is None else f"{x:.4f}"

        status_text = r["status"] + (f" ({r['failure']})" if r["failure"] else "")
        click.echo(
            f"{r['id']}\t{r['challenge']} v{r['version']}\t{r['candidate']}\t"
            f"{status_text}\t{fmt(r['public_score'])}\t{fmt(r['private_score'])}"
        )


@submissions.command()
@click.argument("submission_id", type=int, required=False)
@click.option("--challenge", "slug", default=None, help="Regrade every submission of SLUG.")
def regrade(submission_id: int | None, slug: str | None) -> None:
    """Run submissions again against the version each was made for."""
    from heldout.platform.worker.queue import regrade as do_regrade

    count = do_regrade(open_database(), submission_id, slug)
    click.echo(f"queued {count} submission(s) for regrading")


COMMANDS = [submissions]
