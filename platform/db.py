"""The database handle: engine, sessions, and schema upgrades through Alembic."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from heldout.platform.errors import DatabaseUnavailable

MIGRATIONS = Path(__file__).parent / "migrations"


class Database:
    """One engine and its session factory; `session()` is a unit of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            path = Path(url.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            # Created readable by its owner only (it holds password hashes and tokens);
            # SQLite gives its -wal and -shm files the database file's permissions.
            with contextlib.suppress(FileExistsError):
                if path.name != ":memory:":
                    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            # A busy timeout lets several local processes (web, worker) share the file.
            self.engine: Engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error.

        A lost or refused connection surfaces as DatabaseUnavailable, so callers (the worker's
        loops, the web's 503) handle an outage like any other service outage.
        """
        try:
            with self.sessions() as session, session.begin():
                yield session
        except (OperationalError, InterfaceError) as exc:
            raise DatabaseUnavailable(_describe(self.url, exc)) from exc

    def check(self) -> None:
        """Raise DatabaseUnavailable with a clear line if the database does not answer."""
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise DatabaseUnavailable(_describe(self.url, exc)) from None

    def upgrade(self) -> None:
        """Bring the schema to the newest migration (idempotent, quick when current)."""
        self.check()
        if self.url.startswith("sqlite:///"):
            # pysqlite runs DDL outside transactions, so processes starting together would
            # race to create tables: a lock file beside the database serializes them.
            lock = Path(self.url.removeprefix("sqlite:///") + ".migrate-lock")
            with lock.open("a") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                self._upgrade()
            return
        self._upgrade()

    def _upgrade(self) -> None:
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection_url"] = self.url
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            if self.dialect == "postgresql":
                # Web, workers and CLI may all start at once: one migrates, the others wait.
                connection.execute(text("SELECT pg_advisory_xact_lock(48151623)"))
            try:
                command.upgrade(config, "head")
            except OperationalError as exc:
                raise DatabaseUnavailable(_describe(self.url, exc)) from None

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _describe(url: str, exc: Exception) -> str:
    safe = url.split("@")[-1] if "@" in url else url
    first = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc)
    return (
        f"cannot reach the database at {safe}: {first}. "
        "Check HELDOUT_DATABASE_URL and that the server is running."
    )
