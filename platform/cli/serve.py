"""`heldout serve`, `heldout worker` and `heldout demo`: run the platform."""

from __future__ import annotations

import click

from heldout.platform.cli.common import load_config, not_yet


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
def serve(host: str, port: int) -> None:
    """Serve the web app (candidate portal, reviewer workspace, JSON API)."""
    from werkzeug.serving import run_simple

    from heldout.platform.app import create_app

    app = create_app(config=load_config())
    click.echo(f"Heldout is serving on http://{host}:{port}/", err=True)
    run_simple(host, port, app, threaded=True, use_reloader=False)


COMMANDS = [serve, not_yet("worker"), not_yet("demo")]
