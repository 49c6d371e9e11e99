"""`heldout export` and `heldout import`: move a challenge and its data between installations."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from heldout.platform.cli.common import echo_json, load_config, open_database


@click.command("export")
@click.argument("slug")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The zip file to write.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def export_command(slug: str, out: Path, as_json: bool) -> None:
    """Write challenge SLUG with its submissions, runs, explanations, reviews and artifacts."""
    from heldout.platform.services.backup import export_challenge
    from heldout.platform.storage import open_storage

    config = load_config()
    result = export_challenge(open_database(config), open_storage(config), slug, out)
    if as_json:
        echo_json(dataclasses.asdict(result))
        return
    rows = sum(result.records.values())
    click.echo(f"exported {slug}: {rows} records, {result.artifacts} artifacts to {out}")
    for key in result.missing:
        click.echo(f"warning: {key} is referenced but not in storage; not exported", err=True)


@click.command("import")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--slug", default=None, help="Import under this slug instead of the archive's.")
@click.option(
    "--max-size-mb",
    type=click.IntRange(min=1),
    default=None,
    help="Refuse archives that unpack to more than this (default 20480).",
)
@click.option(
    "--trust-code",
    is_flag=True,
    help="Accept the archive's custom metric code, which workers run (its sha256 is printed).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
def import_command(
    archive: Path, slug: str | None, max_size_mb: int | None, trust_code: bool, as_json: bool
) -> None:
    """Import a challenge exported by `heldout export`; nothing is written if it is refused."""
    from heldout.platform.services.archive import Limits
    from heldout.platform.services.backup import import_challenge
    from heldout.platform.storage import open_storage

    config = load_config()
    limits = Limits(max_total_bytes=max_size_mb * 1024**2) if max_size_mb else Limits()
    result = import_challenge(
        open_database(config), open_storage(config), archive, slug, limits, trust_code
    )
    if as_json:
        echo_json(dataclasses.asdict(result))
        return
    for key, sha256 in result.trusted_code.items():
        click.echo(f"trusted custom metric code {key}: sha256 {sha256}")
    rows = sum(result.records.values())
    click.echo(
        f"imported {result.slug}: {rows} records, {result.artifacts_written} artifacts written, "
        f"{result.artifacts_reused} already present"
    )


COMMANDS = [export_command, import_command]
