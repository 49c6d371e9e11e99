"""`heldout sandbox ...`: build the runtime image and run notebooks in it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click


@click.group()
def sandbox() -> None:
    """Build the runtime image and run notebooks in the sandbox."""


@sandbox.command("build-image")
@click.option(
    "--offline/--online",
    default=None,
    help="Build the base from Debian packages (debootstrap) instead of pulling "
    "python:3.11-slim. Default: online when a registry answers.",
)
def build_image_command(offline: bool | None) -> None:
    """Build the runtime image if its content hash changed (quick when it did not)."""
    from heldout.sandbox import build_image

    result = build_image(offline=offline, progress=lambda line: click.echo(line, err=True))
    click.echo(result.tag)


@sandbox.command("run")
@click.argument("notebook", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--data",
    "data_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory that appears read-only as ./data.",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Receives executed.ipynb and predictions.csv.",
)
@click.option(
    "--timeout",
    type=float,
    default=600.0,
    show_default=True,
    help="Wall-clock seconds for the whole notebook.",
)
@click.option("--memory", type=int, default=2048, show_default=True, help="Memory in MB.")
@click.option("--cpus", type=float, default=1.0, show_default=True, help="CPU cores.")
@click.option(
    "--pool",
    type=int,
    default=0,
    show_default=True,
    help="Keep this many warm containers for the next runs (each used once).",
)
@click.option(
    "--runtime",
    default=None,
    help="Container runtime: auto (runsc, gVisor, when the engine has it), runsc, runc... "
    "[default: HELDOUT_SANDBOX_RUNTIME or auto]",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def run_command(
    notebook: Path,
    data_dir: Path,
    out_dir: Path,
    timeout: float,
    memory: int,
    cpus: float,
    pool: int,
    runtime: str | None,
    as_json: bool,
) -> None:
    """Run NOTEBOOK in a fresh hardened container; exit 0 only when it succeeded."""
    from heldout.sandbox import DockerBackend, Limits

    runtime = runtime or os.environ.get("HELDOUT_SANDBOX_RUNTIME") or None
    backend = DockerBackend(pool_size=pool, worker="cli", runtime=runtime)
    result = backend.run(
        notebook, data_dir, out_dir, Limits(timeout_s=timeout, memory_mb=memory, cpus=cpus)
    )
    if as_json:
        click.echo(json.dumps(result.to_json(), sort_keys=True))
    else:
        click.echo(f"{result.status}: {result.reason}")
        for path in (result.executed_path, result.predictions_path):
            if path:
                click.echo(f"  wrote {path}")
    sys.stdout.flush()
    backend.pool.wait()
    sys.exit(0 if result.succeeded else 1)


@sandbox.command("reap")
@click.option("--worker", default=None, help="Also remove every container of this worker id.")
@click.option("--all", "everything", is_flag=True, help="Remove every sandbox container.")
def reap_command(worker: str | None, everything: bool) -> None:
    """Remove sandbox containers left behind: past their deadline, or of a dead worker."""
    from heldout.sandbox import DockerBackend

    removed = DockerBackend().reap(worker=worker, everything=everything)
    click.echo(f"removed {len(removed)} container(s)")


COMMANDS = [sandbox]
