"""`heldout challenge ...`: author, build, publish and bundle challenges."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from heldout.platform.cli.common import echo_json, load_config, open_database

if TYPE_CHECKING:
    from heldout.platform.services.challenges import VersionInfo


@click.group()
def challenge() -> None:
    """Author, build, publish and bundle challenges."""


class StageBars:
    """One progress bar per build stage, on stderr (stdout stays clean for --json)."""

    def __init__(self) -> None:
        self.stage = ""
        self.done = 0
        self.bar: Any = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.close()
            self.stage, self.done = stage, 0
            self.bar = click.progressbar(
                length=max(total, 1), label=f"{stage:<10}", file=sys.stderr, show_eta=False
            )
            self.bar.__enter__()
        if self.bar is not None and done > self.done:
            self.bar.update(done - self.done)
            self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@challenge.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--title", default=None, help="Title shown to candidates.")
@click.option("--force", is_flag=True, help="Overwrite the kit files if they exist.")
def new(directory: Path, title: str | None, force: bool) -> None:
    """Scaffold a kit: challenge.toml (with the default rubric), brief.md, starter.ipynb."""
    from heldout.challenges.scaffold import scaffold

    for path in scaffold(directory, title, force):
        click.echo(f"wrote {path}")
    click.echo(f"next: put the source table in {directory / 'data'}, edit challenge.toml, then")
    click.echo(f"      heldout challenge build {directory}")


@challenge.command()
@click.argument("directory", type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def build(directory: Path, as_json: bool, quiet: bool) -> None:
    """Build a kit into a new version: anonymize, scan, check k, split, store artifacts."""
    from heldout.platform.services import challenges
    from heldout.platform.storage import open_storage

    config = load_config()
    db = open_database(config)
    bars = None if quiet else StageBars()
    try:
        info = challenges.build(db, open_storage(config), directory, bars)
    finally:
        if bars is not None:
            bars.close()
    if as_json:
        echo_json(info.summary() | {"report": info.report})
        return
    click.echo(f"built {info.slug} v{info.version} ({info.state})")
    _print_report(info)


@challenge.command()
@click.argument("slug")
def publish(slug: str) -> None:
    """Open a challenge to invitations."""
    from heldout.platform.services import challenges

    info = challenges.publish(open_database(), slug)
    click.echo(f"{info.slug} is published (v{info.version})")


@challenge.command()
@click.argument("slug")
def close(slug: str) -> None:
    """Close a challenge: no new invitations or submissions."""
    from heldout.platform.services import challenges

    info = challenges.close(open_database(), slug)
    click.echo(f"{info.slug} is closed (v{info.version})")


@challenge.command("list")
@click.option("--json", "as_json", is_flag=True)
def list_(as_json: bool) -> None:
    """List challenges with their state and newest version."""
    from heldout.platform.services import challenges

    infos = challenges.list_challenges(open_database())
    if as_json:
        echo_json([info.summary() | {"versions": info.versions} for info in infos])
        return
    if not infos:
        click.echo("no challenges yet: heldout challenge build DIR")
    for info in infos:
        click.echo(
            f"{info.slug:<24} {info.state:<10} v{info.version:<4} {info.metric:<10} {info.title}"
        )


@challenge.command()
@click.argument("slug")
@click.option("--version", "number", type=int, default=None, help="Default: the newest.")
@click.option("--json", "as_json", is_flag=True)
def show(slug: str, number: int | None, as_json: bool) -> None:
    """Show a version and its anonymization report."""
    from heldout.platform.services import challenges

    info = challenges.show(open_database(), slug, number)
    if as_json:
        echo_json(info.summary() | {"report": info.report, "spec": info.spec})
        return
    click.echo(f"{info.title} ({info.slug}) - {info.state}, v{info.version} of {info.versions}")
    click.echo(f"metric {info.metric}; built {info.created_at}; data {info.data_sha256[:12]}")
    _print_report(info)


@challenge.command()
@click.argument("slug")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--version", "number", type=int, default=None, help="Default: the newest.")
def bundle(slug: str, out: Path, number: int | None) -> None:
    """Write the candidate bundle (exactly what candidates download) to FILE.zip."""
    from heldout.platform.services import challenges
    from heldout.platform.storage import open_storage

    config = load_config()
    size = challenges.write_bundle(open_database(config), open_storage(config), slug, out, number)
    click.echo(f"wrote {out} ({size} bytes)")


def _print_report(info: VersionInfo) -> None:
    report = info.report
    rows = report.get("rows", {})
    click.echo(
        f"rows: train {rows.get('train')}, public test {rows.get('public_test')}, "
        f"private test {rows.get('private_test')}, suppressed {rows.get('suppressed', 0)}"
    )
    privacy = report.get("privacy", {})
    if privacy.get("quasi_identifiers"):
        click.echo(
            f"k-anonymity over {', '.join(privacy['quasi_identifiers'])}: "
            f"k = {privacy['k_achieved']} (required {privacy['k_required']})"
        )
    else:
        click.echo("k-anonymity: no quasi-identifiers declared")
    click.echo("")
    click.echo(f"{'column':<24} {'rule':<13} {'before':>8} {'after':>8}  what")
    for column in report.get("columns", []):
        after = column["after_distinct"]
        click.echo(
            f"{column['column']:<24} {column['rule']:<13} {column['before_distinct']:>8} "
            f"{'-' if after is None else after:>8}  {column['description']}"
        )


COMMANDS = [challenge]
