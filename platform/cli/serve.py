"""`heldout serve`, `heldout worker` and `heldout demo`: run the platform."""

from __future__ import annotations

import logging

import click

from heldout.platform.cli.common import load_config


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
def serve(host: str, port: int) -> None:
    """Serve the web app (candidate portal, reviewer workspace, JSON API)."""
    from werkzeug.serving import run_simple

    from heldout.platform.app import create_app

    app = create_app(config=load_config())
    from heldout.platform.logging import RedactInvitations

    logging.getLogger("werkzeug").addFilter(RedactInvitations())
    click.echo(f"Heldout is serving on http://{host}:{port}/", err=True)
    run_simple(host, port, app, threaded=True, use_reloader=False)


@click.command()
@click.option(
    "--concurrency",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Notebooks run at once (each takes its challenge's memory and CPUs).",
)
@click.option("--until-idle", is_flag=True, help="Exit when the queue is empty.")
def worker(concurrency: int, until_idle: bool) -> None:
    """Claim queued submissions, run them in the sandbox and grade them."""

    from heldout.platform.logging import configure
    from heldout.platform.worker.loop import start

    config = load_config()
    configure(str(config["HELDOUT_LOG_FORMAT"]))
    processed = start(config, concurrency, until_idle=until_idle)
    click.echo(f"worker stopped after {processed} submission(s)", err=True)


@click.command()
@click.option(
    "--port",
    default=5000,
    show_default=True,
    type=int,
    help="Port to serve on (the next free one if taken).",
)
def demo(port: int) -> None:
    """Build the example challenge, start server and worker, submit a sample, print URLs."""
    from heldout.platform.demo import run

    run(port=port)


COMMANDS = [serve, worker, demo]
