"""Helpers every command shares: loading config and the database, JSON output."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from heldout.platform.config import Config

if TYPE_CHECKING:  # the database stack is imported only by commands that use it
    from heldout.platform.db import Database


def load_config() -> Config:
    return Config.from_env()


def open_database(config: Config | None = None) -> Database:
    """The configured database, upgraded to the newest schema (created on first use)."""
    from heldout.platform.db import Database

    database = Database((config or load_config()).database_url)
    database.upgrade()
    return database


def echo_json(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=None, sort_keys=True, default=str))
